package producer

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58 encodes b the way Solana addresses are written.
func base58(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// log(256)/log(58) < 1.37
	out := make([]byte, len(b)*137/100+1)
	end := len(out)
	num := append([]byte(nil), b[zeros:]...)
	for len(num) > 0 {
		var rem int
		next := num[:0]
		for _, d := range num {
			acc := rem*256 + int(d)
			q := acc / 58
			rem = acc % 58
			if q > 0 || len(next) > 0 {
				next = append(next, byte(q))
			}
		}
		end--
		out[end] = base58Alphabet[rem]
		num = next
	}
	for ; zeros > 0; zeros-- {
		end--
		out[end] = '1'
	}
	return string(out[end:])
}
