package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// redisClient builds the client TOKENSYNC_REDIS_URL describes: one server,
// or a Redis Cluster when the URL names several seed nodes
// (redis://h1:7000,h2:7001,h3:7002, or go-redis' ?addr=h2:7001&addr=… form)
// or when cluster is set. The caller closes it.
func redisClient(raw string, cluster bool) (redis.UniversalClient, error) {
	return newRedisClient(raw, cluster, 0)
}

// redisClientNoRetries is redisClient with go-redis' command retries off.
func redisClientNoRetries(raw string, cluster bool) (redis.UniversalClient, error) {
	return newRedisClient(raw, cluster, -1)
}

func newRedisClient(raw string, cluster bool, maxRetries int) (redis.UniversalClient, error) {
	clusterURL, many, err := clusterForm(raw)
	if err != nil {
		return nil, err
	}
	if many || cluster {
		opt, err := redis.ParseClusterURL(clusterURL)
		if err != nil {
			return nil, err
		}
		if maxRetries != 0 {
			opt.MaxRetries = maxRetries
		}
		return redis.NewClusterClient(opt), nil
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return nil, err
	}
	if maxRetries != 0 {
		opt.MaxRetries = maxRetries
	}
	return redis.NewClient(opt), nil
}

// clusterForm rewrites "scheme://auth@h1,h2,h3/0?q" to go-redis' cluster URL
// form "scheme://auth@h1?q&addr=h2&addr=h3", and reports whether it names
// several nodes. A cluster has only database 0.
func clusterForm(raw string) (string, bool, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", false, fmt.Errorf("no scheme in Redis URL")
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	path, query, _ := strings.Cut(tail, "?")
	list := strings.Split(hosts, ",")
	many := len(list) > 1 || strings.Contains(query, "addr=")
	if !many {
		return raw, false, nil
	}
	if path != "" && path != "/" && path != "/0" {
		return "", true, fmt.Errorf("a Redis Cluster has only database 0, the URL asks for %s", path)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", true, err
	}
	for _, h := range list[1:] {
		q.Add("addr", h)
	}
	return scheme + "://" + userinfo + list[0] + "?" + q.Encode(), true, nil
}
