package runner

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestMaskerSplitWrites(t *testing.T) {
	t.Parallel()
	secret := "hunter2-s3cret"
	b64 := base64.StdEncoding.EncodeToString([]byte(secret))
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain", "token is " + secret + "\n", "token is ***\n"},
		{"twice", secret + secret + " and " + secret, "****** and ***"},
		{"base64", "auth " + b64 + "\n", "auth ***\n"},
		{"trailing newline dropped by echo", "x hunter2-s3cret y\n", "x *** y\n"},
		{"a prefix only", "hunter2-s3cr\n", "hunter2-s3cr\n"},
		{"prefix at the end", "ends with hunter", "ends with hunter"},
		{"nothing", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Every way to cut the stream in two writes, and byte by byte.
			for cut := 0; cut <= len(tc.in); cut++ {
				var out bytes.Buffer
				m := newMasker(&out, [][]byte{[]byte(secret + "\n")})
				for _, part := range []string{tc.in[:cut], tc.in[cut:]} {
					if n, err := m.Write([]byte(part)); err != nil || n != len(part) {
						t.Fatalf("Write = %d, %v", n, err)
					}
				}
				if err := m.Flush(); err != nil {
					t.Fatal(err)
				}
				if out.String() != tc.want {
					t.Errorf("cut at %d: %q, want %q", cut, out.String(), tc.want)
				}
			}
			var out bytes.Buffer
			m := newMasker(&out, [][]byte{[]byte(secret)})
			for i := range len(tc.in) {
				_, _ = m.Write([]byte{tc.in[i]})
				if strings.Contains(out.String(), secret) {
					t.Fatalf("byte by byte: the secret went through: %q", out.String())
				}
			}
			_ = m.Flush()
			if out.String() != tc.want {
				t.Errorf("byte by byte: %q, want %q", out.String(), tc.want)
			}
		})
	}
}

// A line that does not end halfway into a secret is written at once: the
// stream stays live.
func TestMaskerHoldsBackOnlyAPossibleSecret(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	m := newMasker(&out, [][]byte{[]byte("abcdef")})
	_, _ = m.Write([]byte("INFO step 1\n"))
	if out.String() != "INFO step 1\n" {
		t.Errorf("after a whole line: %q", out.String())
	}
	_, _ = m.Write([]byte("x abc"))
	if out.String() != "INFO step 1\nx " {
		t.Errorf("held back more than the possible secret: %q", out.String())
	}
	_, _ = m.Write([]byte("dxyz\n"))
	if out.String() != "INFO step 1\nx abcdxyz\n" {
		t.Errorf("after the tail turned out harmless: %q", out.String())
	}
	_, _ = m.Write([]byte("abcde"))
	_ = m.Flush()
	if !strings.HasSuffix(out.String(), "\nabcde") {
		t.Errorf("Flush did not write the held-back tail: %q", out.String())
	}
}

func TestMaskerOverlappingSecrets(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	m := newMasker(&out, [][]byte{[]byte("abc"), []byte("abcdef"), []byte("cdx")})
	_, _ = m.Write([]byte("1 abcdef 2 abcdx 3 ab"))
	_, _ = m.Write([]byte("cd"))
	_ = m.Flush()
	if want := "1 *** 2 ***dx 3 ***d"; out.String() != want {
		t.Errorf("%q, want %q", out.String(), want)
	}
}

func TestMaskerWithoutSecretsPassesThrough(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	m := newMasker(&out, nil)
	_, _ = m.Write([]byte("abc"))
	if out.String() != "abc" {
		t.Errorf("%q", out.String())
	}
}
