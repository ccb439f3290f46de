package lint

import "testing"

func TestNeedsNetwork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      bool
	}{
		{"scratch and COPY", "FROM scratch\nCOPY a /a\nENV X=1\n", false},
		{"stages from scratch", "FROM scratch AS build\nCOPY a /a\nFROM scratch\nCOPY --from=build /a /b\nCOPY --from=0 /a /c\n", false},
		{"base image", "FROM alpine\nCOPY a /a\n", true},
		{"stage named like an image used later", "FROM scratch AS alpine\nFROM alpine\n", false},
		{"RUN", "FROM scratch\nRUN true\n", true},
		{"ADD URL", "FROM scratch\nADD https://example.com/x /x\n", true},
		{"ADD git", "FROM scratch\nADD git@github.com:a/b.git /b\n", true},
		{"ADD local", "FROM scratch\nADD a.tar /x\n", false},
		{"COPY --from image", "FROM scratch\nCOPY --from=busybox /bin/sh /sh\n", true},
		{"COPY --from later stage index", "FROM scratch\nCOPY --from=1 /a /a\nFROM scratch\n", true},
		{"ONBUILD", "FROM scratch\nONBUILD RUN true\n", true},
		{"ARG in FROM", "ARG BASE=scratch\nFROM $BASE\n", true},
		{"unparsable", "FROM scratch\nCOPY\n", true},
		// A variable may hold a URL: ADD downloads what it expands to.
		{"ADD $URL", "FROM scratch\nARG URL=https://example.com/x\nADD $URL /x\n", true},
		{"ADD ${URL}", "FROM scratch\nENV URL=https://example.com/x\nADD ${URL} /x\n", true},
		{"ADD variable without a value", "FROM scratch\nARG SRC\nADD ${SRC:-a.tar} /x\n", true},
		{"ADD quoted JSON variable", "FROM scratch\nARG URL\nADD [\"$URL\", \"/x\"]\n", true},
		{"ADD git over https", "FROM scratch\nADD https://github.com/a/b.git#main /b\n", true},
		{"ADD URL in upper case", "FROM scratch\nADD HTTPS://EXAMPLE.COM/x /x\n", true},
		{"ADD local next to a variable dest", "FROM scratch\nARG DEST=/x\nADD a.tar $DEST\n", false},
		{"COPY --from variable", "FROM scratch AS build\nFROM scratch\nARG FROM=build\nCOPY --from=$FROM /a /a\n", true},
		{"COPY --from braced variable", "FROM scratch AS build\nFROM scratch\nCOPY --from=${STAGE} /a /a\n", true},
		{"COPY variable source", "FROM scratch\nARG SRC=a\nCOPY $SRC /a\n", false},
		{"check directive", "# check=skip=all\nFROM scratch\nCOPY a /a\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := sourceNeedsNetwork([]byte(tt.src)); got != tt.want {
				t.Errorf("sourceNeedsNetwork(%q) = %v, want %v", tt.src, got, tt.want)
			}
		})
	}
}
