package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// PGDelta is what PostgreSQL counted during one scenario.
type PGDelta struct {
	// Commits is the xact_commit delta of the bench database, the monitor's
	// own two statements subtracted. It counts every transaction, also
	// read-only ones: pgxpool's liveness ping of a connection idle for more
	// than a second ("-- ping") and a consumer's start-up migration check.
	Commits int64 `json:"commits"`
	// WriteXacts counts transactions that wrote or locked a row: with
	// pg_walinspect, the distinct transaction IDs of the WAL records that
	// touch the bench database (exact even while other databases work);
	// without it, the transaction IDs assigned cluster-wide.
	WriteXacts int64 `json:"write_xacts"`
	// WALBytesOwn is, with pg_walinspect, the bytes of the WAL records that
	// touch the bench database plus the commit records of their transactions;
	// -1 without pg_walinspect.
	WALBytesOwn int64 `json:"wal_bytes_own"`
	// FPIOwn counts the full-page images among those records; -1 without
	// pg_walinspect.
	FPIOwn int64 `json:"wal_fpi_own"`
	// WALByRecord breaks the bench database's WAL down by record type,
	// largest first (pg_walinspect only).
	WALByRecord []RecordStat `json:"wal_by_record,omitempty"`
	// WALBytesLSN is pg_current_wal_lsn() after minus before: every byte of
	// WAL, page headers included.
	WALBytesLSN int64 `json:"wal_bytes_lsn"`
	// WALBytesStat, WALRecords and FPI are pg_stat_wal deltas: the records'
	// bytes, their number and the full-page images among them.
	WALBytesStat int64 `json:"wal_bytes_stat"`
	WALRecords   int64 `json:"wal_records"`
	FPI          int64 `json:"wal_fpi"`
	// CheckpointBuffers are buffers written by checkpoints (buffers_checkpoint
	// of pg_stat_bgwriter; buffers_written of pg_stat_checkpointer from 17
	// on), including the CHECKPOINT the bench issues at the end of the
	// scenario: the pages the scenario left dirty.
	CheckpointBuffers int64 `json:"checkpoint_buffers"`
	Checkpoints       int64 `json:"checkpoints"`
	// Tuple counters of the tokens table (pg_stat_user_tables).
	RowsInserted int64 `json:"rows_inserted"`
	RowsUpdated  int64 `json:"rows_updated"`
	HOTUpdated   int64 `json:"hot_updated"`
	// OtherCommits are commits in other databases of the cluster during the
	// scenario (the monitor's maintenance database left out): when not zero,
	// the cluster-wide figures (WAL, write transactions, checkpoint buffers)
	// include someone else's work.
	OtherCommits int64 `json:"other_commits"`
}

// RowsWritten is inserts plus updates.
func (d *PGDelta) RowsWritten() int64 { return d.RowsInserted + d.RowsUpdated }

// HOTShare is the fraction of updates that were heap-only, or -1 without updates.
func (d *PGDelta) HOTShare() float64 {
	if d.RowsUpdated == 0 {
		return -1
	}
	return float64(d.HOTUpdated) / float64(d.RowsUpdated)
}

type pgSnapshot struct {
	lsn                             uint64
	walRecords, walFPI, walBytes    int64
	commits, otherCommits           int64
	ckptBuffers, ckptTimed, ckptReq int64
	nextXID                         int64
	tupIns, tupUpd, tupHot          int64
}

// pgMonitor reads PostgreSQL's counters around a scenario over two
// connections of its own: maint, to the maintenance database, reads the
// cluster-wide views and issues CHECKPOINT, so none of that counts as a
// commit of the bench database; local, to the bench database, reads the
// tokens table's counters (pg_stat_user_tables shows only the current
// database) and truncates the table.
//
// PostgreSQL publishes a backend's counters asynchronously (at most once a
// second while it is busy, at the latest when it exits). The monitor
// therefore reads its "after" figures only once every other backend of the
// bench database has exited, and forces its own counters out with
// pg_stat_force_next_flush().
type pgMonitor struct {
	maint, local *pgx.Conn
	db           string
	localPID     uint32
	v17          bool
	canForce     bool
	canCkpt      bool
	walinspect   bool
	dbPattern    string // LIKE pattern matching block references into the bench database
	notes        []string
}

func newPGMonitor(ctx context.Context, maintCfg, localCfg *pgx.ConnConfig) (*pgMonitor, error) {
	m := &pgMonitor{db: localCfg.Database, canForce: true, canCkpt: true}
	var err error
	if m.maint, err = pgx.ConnectConfig(ctx, maintCfg); err != nil {
		return nil, fmt.Errorf("connect to the maintenance database: %w", err)
	}
	if m.local, err = pgx.ConnectConfig(ctx, localCfg); err != nil {
		m.maint.Close(ctx)
		return nil, fmt.Errorf("connect to %s: %w", m.db, err)
	}
	m.localPID = m.local.PgConn().PID()
	var num int
	if err := m.maint.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		m.close()
		return nil, err
	}
	m.v17 = num >= 170000
	if _, err := m.local.Exec(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
		m.canForce = false
		m.notes = append(m.notes, "pg_stat_force_next_flush() not allowed for this role: commit counts may be off by the monitor's own statements")
	}
	var dbOID uint32
	if err := m.local.QueryRow(ctx, "SELECT oid FROM pg_database WHERE datname = current_database()").Scan(&dbOID); err != nil {
		m.close()
		return nil, err
	}
	// Block references read "rel <tablespace>/<database>/<relfilenode>".
	m.dbPattern = fmt.Sprintf("%%/%d/%%", dbOID)
	if _, err := m.local.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_walinspect"); err == nil {
		m.walinspect = true
	} else {
		m.notes = append(m.notes, "pg_walinspect unavailable ("+err.Error()+"): write transactions are counted cluster-wide")
	}
	return m, nil
}

func (m *pgMonitor) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.maint.Close(ctx)
	m.local.Close(ctx)
}

// prepare empties the tokens table when asked to and checkpoints, so that
// every scenario starts from the same state: no dirty buffers, and full-page
// images due on the first change of every page.
func (m *pgMonitor) prepare(ctx context.Context, truncate bool) error {
	if truncate {
		if _, err := m.local.Exec(ctx, "TRUNCATE tokens"); err != nil {
			return fmt.Errorf("truncate tokens: %w", err)
		}
	}
	if err := m.flushOwn(ctx); err != nil {
		return err
	}
	return m.checkpoint(ctx)
}

func (m *pgMonitor) flushOwn(ctx context.Context) error {
	if !m.canForce {
		return nil
	}
	_, err := m.local.Exec(ctx, "SELECT pg_stat_force_next_flush()")
	return err
}

// checkpoint runs CHECKPOINT and waits until the checkpointer published its
// counters for it.
func (m *pgMonitor) checkpoint(ctx context.Context) error {
	if !m.canCkpt {
		return nil
	}
	before, err := m.global(ctx)
	if err != nil {
		return err
	}
	if _, err := m.maint.Exec(ctx, "CHECKPOINT"); err != nil {
		m.canCkpt = false
		m.notes = append(m.notes, "CHECKPOINT not allowed for this role ("+err.Error()+"): scenarios do not start from a checkpoint and checkpoint buffers are not measured")
		return nil
	}
	return poll(ctx, 5*time.Second, 10*time.Millisecond, func() (bool, error) {
		s, err := m.global(ctx)
		return s.ckptReq+s.ckptTimed > before.ckptReq+before.ckptTimed, err
	})
}

// waitSessions waits until no session but the monitor's is connected to
// the bench database.
func (m *pgMonitor) waitSessions(ctx context.Context) error {
	err := poll(ctx, 30*time.Second, 20*time.Millisecond, func() (bool, error) {
		var n int
		err := m.maint.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> $2", m.db, m.localPID).Scan(&n)
		return n == 0, err
	})
	if err != nil {
		return fmt.Errorf("wait for the scenario's PostgreSQL sessions to end: %w", err)
	}
	return nil
}

// begin takes the "before" snapshot.
func (m *pgMonitor) begin(ctx context.Context) (pgSnapshot, error) {
	s, err := m.global(ctx)
	if err != nil {
		return s, err
	}
	return s, m.table(ctx, &s)
}

// end waits for the scenario's backends to exit and their counters to
// settle, checkpoints when asked to, and returns the deltas since before.
func (m *pgMonitor) end(ctx context.Context, before pgSnapshot, checkpoint bool) (PGDelta, error) {
	err := m.waitSessions(ctx)
	if err != nil {
		return PGDelta{}, err
	}
	// Before the checkpoint, which may recycle the scenario's WAL.
	ownXacts, ownBytes, ownFPI := int64(-1), int64(-1), int64(-1)
	var recs []RecordStat
	if m.walinspect {
		if ownXacts, ownBytes, ownFPI, recs, err = m.inspect(ctx, before.lsn); err != nil {
			return PGDelta{}, err
		}
	}
	if checkpoint {
		if err := m.checkpoint(ctx); err != nil {
			return PGDelta{}, err
		}
	}
	// A backend leaves pg_stat_activity just before it publishes its last
	// counters: wait until two reads 50ms apart agree.
	last, err := m.global(ctx)
	if err != nil {
		return PGDelta{}, err
	}
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return PGDelta{}, err
		}
		s, err := m.global(ctx)
		if err != nil {
			return PGDelta{}, err
		}
		stable := s.commits == last.commits && s.walRecords == last.walRecords
		last = s
		if stable {
			break
		}
	}
	if err := m.table(ctx, &last); err != nil {
		return PGDelta{}, err
	}
	after, err := m.global(ctx)
	if err != nil {
		return PGDelta{}, err
	}
	after.tupIns, after.tupUpd, after.tupHot = last.tupIns, last.tupUpd, last.tupHot
	own := int64(0)
	if m.canForce {
		own = 2 // the table reads of begin and end
		if m.walinspect {
			own++ // and the WAL inspection
		}
	}
	if ownXacts < 0 {
		ownXacts = after.nextXID - before.nextXID
	}
	return PGDelta{
		Commits:           after.commits - before.commits - own,
		WriteXacts:        ownXacts,
		WALBytesOwn:       ownBytes,
		FPIOwn:            ownFPI,
		WALByRecord:       recs,
		WALBytesLSN:       int64(after.lsn - before.lsn),
		WALBytesStat:      after.walBytes - before.walBytes,
		WALRecords:        after.walRecords - before.walRecords,
		FPI:               after.walFPI - before.walFPI,
		CheckpointBuffers: after.ckptBuffers - before.ckptBuffers,
		Checkpoints:       after.ckptTimed + after.ckptReq - before.ckptTimed - before.ckptReq,
		RowsInserted:      after.tupIns - before.tupIns,
		RowsUpdated:       after.tupUpd - before.tupUpd,
		HOTUpdated:        after.tupHot - before.tupHot,
		OtherCommits:      after.otherCommits - before.otherCommits,
	}, nil
}

// inspectSQL reads the WAL since $1 and keeps the records of the bench
// database: those whose block references point into it ($2) and the commit
// records of their transactions. It returns, per record type, their number,
// bytes and full-page images, and in every row the number of transactions.
const inspectSQL = `
WITH r AS MATERIALIZED (
    SELECT xid::text::bigint AS xid, resource_manager, record_type, record_length, block_ref
    FROM pg_get_wal_records_info($1::pg_lsn, pg_current_wal_flush_lsn())
), mine AS (
    SELECT DISTINCT xid FROM r WHERE xid <> 0 AND block_ref LIKE $2
), own AS (
    SELECT * FROM r
    WHERE block_ref LIKE $2
       OR (resource_manager = 'Transaction' AND xid IN (SELECT xid FROM mine))
)
SELECT (SELECT count(*) FROM mine),
       resource_manager || '/' || record_type,
       count(*),
       sum(record_length)::bigint,
       -- each block reference carrying a full-page image is marked FPW
       coalesce(sum((length(block_ref) - length(replace(block_ref, 'FPW', ''))) / 3), 0)::bigint
FROM own
GROUP BY 2
ORDER BY 4 DESC`

// RecordStat is the WAL of one record type in the bench database.
type RecordStat struct {
	Record  string `json:"record"`
	Records int64  `json:"records"`
	Bytes   int64  `json:"bytes"`
	FPI     int64  `json:"fpi"`
}

func (m *pgMonitor) inspect(ctx context.Context, from uint64) (xacts, bytes, fpi int64, recs []RecordStat, err error) {
	// pg_walinspect reads only flushed WAL; records without a commit behind
	// them (page pruning) reach the disk with the WAL writer, within
	// wal_writer_delay.
	var insert, flush string
	if err := m.maint.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&insert); err != nil {
		return 0, 0, 0, nil, err
	}
	target, err := parseLSN(insert)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	var flushed uint64
	err = poll(ctx, 5*time.Second, 10*time.Millisecond, func() (bool, error) {
		if err := m.maint.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&flush); err != nil {
			return false, err
		}
		flushed, err = parseLSN(flush)
		return flushed >= target, err
	})
	if err != nil {
		return 0, 0, 0, nil, fmt.Errorf("wait for WAL to be flushed: %w", err)
	}
	if flushed <= from {
		return 0, 0, 0, nil, nil // no WAL at all
	}
	lsn := fmt.Sprintf("%X/%X", from>>32, uint32(from))
	rows, _ := m.local.Query(ctx, inspectSQL, lsn, m.dbPattern)
	var rs RecordStat
	_, err = pgx.ForEachRow(rows, []any{&xacts, &rs.Record, &rs.Records, &rs.Bytes, &rs.FPI}, func() error {
		recs = append(recs, rs)
		bytes += rs.Bytes
		fpi += rs.FPI
		return nil
	})
	if err != nil {
		return 0, 0, 0, nil, fmt.Errorf("inspect WAL since %s: %w", lsn, err)
	}
	return xacts, bytes, fpi, recs, nil
}

const globalSQL = `
SELECT pg_current_wal_lsn()::text,
       w.wal_records, w.wal_fpi, w.wal_bytes::bigint,
       coalesce((SELECT xact_commit FROM pg_stat_database WHERE datname = $1), 0),
       coalesce((SELECT sum(xact_commit) FROM pg_stat_database
                 WHERE datname <> $1 AND datname <> current_database()), 0)::bigint,
       c.buffers, c.timed, c.requested,
       pg_snapshot_xmax(pg_current_snapshot())::text::bigint
FROM pg_stat_wal w, (%s) c`

const checkpointerPG15 = `SELECT buffers_checkpoint AS buffers, checkpoints_timed AS timed, checkpoints_req AS requested FROM pg_stat_bgwriter`
const checkpointerPG17 = `SELECT buffers_written AS buffers, num_timed AS timed, num_requested AS requested FROM pg_stat_checkpointer`

func (m *pgMonitor) global(ctx context.Context) (pgSnapshot, error) {
	var s pgSnapshot
	var lsn string
	q := checkpointerPG15
	if m.v17 {
		q = checkpointerPG17
	}
	err := m.maint.QueryRow(ctx, fmt.Sprintf(globalSQL, q), m.db).Scan(&lsn,
		&s.walRecords, &s.walFPI, &s.walBytes, &s.commits, &s.otherCommits,
		&s.ckptBuffers, &s.ckptTimed, &s.ckptReq, &s.nextXID)
	if err != nil {
		return s, fmt.Errorf("read cluster statistics: %w", err)
	}
	s.lsn, err = parseLSN(lsn)
	return s, err
}

func (m *pgMonitor) table(ctx context.Context, s *pgSnapshot) error {
	q := `SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = 'tokens'::regclass`
	if m.canForce {
		// Evaluated once; makes this session publish its counters (this
		// statement's commit) before it answers.
		q = `SELECT s.n_tup_ins, s.n_tup_upd, s.n_tup_hot_upd FROM pg_stat_user_tables s, pg_stat_force_next_flush() f WHERE s.relid = 'tokens'::regclass`
	}
	if err := m.local.QueryRow(ctx, q).Scan(&s.tupIns, &s.tupUpd, &s.tupHot); err != nil {
		return fmt.Errorf("read statistics of the tokens table: %w", err)
	}
	return nil
}

// parseLSN reads a pg_lsn such as 0/16B3748.
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected LSN %q", s)
	}
	return h<<32 | l, nil
}

// poll calls f every interval until it reports true, fails, or timeout passes.
func poll(ctx context.Context, timeout, interval time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := f()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return errors.New("timed out after " + timeout.String())
		}
		if err := sleep(ctx, interval); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
