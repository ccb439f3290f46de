package lint

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// bigDockerfile generates a Dockerfile of about size bytes: a tenth is
// many small stages using every instruction kind (with findings), the rest
// is the bulk real huge Dockerfiles carry: one RUN continued over thousands
// of lines, a large heredoc, very long lines and comment blocks.
func bigDockerfile(size int) []byte {
	var b strings.Builder
	b.WriteString("# syntax=docker/dockerfile:1\nARG BASE=alpine:3.20\n")
	for i := 0; b.Len() < size/10; i++ {
		fmt.Fprintf(&b, "FROM $BASE AS s%d\n", i)
		fmt.Fprintf(&b, "# kanikorun:ignore=KR003\nRUN <<EOF\necho %d > /tmp/x\nmkdir -p /workspace/%d\nEOF\n", i, i)
		b.WriteString("RUN --mount=type=cache,target=/root/.cache apk add \\\n")
		for j := 0; j < 20; j++ {
			fmt.Fprintf(&b, "    pkg%d \\\n", j)
		}
		b.WriteString("    && echo done > /workspace/done\n")
		fmt.Fprintf(&b, "ENV APP=/app%d\nWORKDIR $APP\nCOPY --from=s%d /x /y\nCOPY src/ ./\nADD https://example.com/%d.tgz /tmp/\n", i, max(i-1, 0), i)
		b.WriteString("COPY <<EOT /etc/x\nhello\nEOT\n")
		b.WriteString("RUN echo 'a;b' \"c > d\" $(echo e) && cat /workspace/f | tee /tmp/g\n")
	}
	b.WriteString("FROM alpine AS bulk\nRUN set -e \\\n")
	for j := 0; b.Len() < size/10*2; j++ {
		fmt.Fprintf(&b, "  && mkdir -p /opt/dir%d && echo %d > /opt/dir%d/f \\\n", j, j, j)
	}
	b.WriteString("  && true\nCOPY <<EOF /etc/big.conf\n")
	for j := 0; b.Len() < size/10*3; j++ {
		fmt.Fprintf(&b, "key%d = %s\n", j, strings.Repeat("v", 60))
	}
	b.WriteString("EOF\n")
	long := strings.Repeat("word ", 1600)
	for b.Len() < size/10*6 {
		b.WriteString("RUN echo " + long + "\n")
	}
	comment := "# " + strings.Repeat("a long comment explaining the build ", 3) + "\n"
	for b.Len() < size {
		b.WriteString(comment)
	}
	b.WriteString("RUN true\n")
	return []byte(b.String())
}

// TestLintLargeDockerfile lints a ~5 MB Dockerfile: it must finish (the
// algorithm is linear; BenchmarkLintLarge shows the scaling) and find
// what it contains.
func TestLintLargeDockerfile(t *testing.T) {
	t.Parallel()
	src := bigDockerfile(5 << 20)
	r, err := LintSource(src, Options{Context: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, f := range r.Findings {
		counts[f.ID]++
	}
	stages := strings.Count(string(src), "\nFROM $BASE ")
	if counts[RuleMountOther] != stages {
		t.Errorf("KR006 findings = %d, want one per small stage (%d)", counts[RuleMountOther], stages)
	}
	if counts[RuleRunHeredoc] != 0 {
		t.Errorf("KR003 findings = %d, want 0: every heredoc RUN carries an ignore comment", counts[RuleRunHeredoc])
	}
	if counts[RuleMountedRun] != 2*stages {
		t.Errorf("KR012 findings = %d, want %d", counts[RuleMountedRun], 2*stages)
	}
	if counts[RuleCopyHeredoc] != stages+1 {
		t.Errorf("KR004 findings = %d, want %d", counts[RuleCopyHeredoc], stages+1)
	}
	if counts[RuleParse] != 0 {
		t.Errorf("KR001 findings = %d, want 0", counts[RuleParse])
	}
}

// TestAdversarialInputs lints inputs built to make a careless linter
// quadratic (one instruction with tens of thousands of findings, variables,
// flags or sources). It has no timing assertion: a quadratic step would
// show as a test that does not finish.
func TestAdversarialInputs(t *testing.T) {
	t.Parallel()
	const n = 5000
	var vars, volumes, sources, redirects, mounts strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&vars, "$V%d\\\n", i)
		fmt.Fprintf(&volumes, " /workspace/v%d \\\n", i)
		fmt.Fprintf(&sources, " \\\n  missing%d", i)
		fmt.Fprintf(&redirects, " \\\n  && echo %d > /workspace/r%d", i, i)
		mounts.WriteString(" \\\n  --mount=type=cache,target=/c")
	}
	dir := writeContext(t, map[string]string{"present": ""})
	tests := []struct {
		name, src string
		id        string
		max       int
	}{
		{"variables in FROM", "FROM alpine:" + vars.String() + "\n", RuleFromArg, 3},
		{"volumes", "FROM alpine\nVOLUME" + volumes.String() + " /v\n", RuleMountedDest, 3},
		{"sources", "FROM alpine\nCOPY" + sources.String() + " /dst/\n", RuleSourceMissing, n},
		{"redirections", "FROM alpine\nRUN true" + redirects.String() + "\n", RuleMountedRun, 1},
		{"mounts", "FROM alpine\nRUN" + mounts.String() + " true\n", RuleMountOther, n},
		{"unknown instructions", strings.Repeat("FROM alpine\n"+strings.Repeat("X", 60000)+" y\n", 5), RuleParse, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := lintString(t, tc.src, Options{Context: dir})
			got := withID(fs, tc.id)
			if len(got) == 0 || len(got) > tc.max {
				t.Errorf("%s findings = %d, want 1..%d; first findings: %.300v", tc.id, len(got), tc.max, fs)
			}
		})
	}
}

func BenchmarkLintLarge(b *testing.B) {
	for _, size := range []int{1 << 20, 2 << 20, 4 << 20} {
		src := bigDockerfile(size)
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := LintSource(src, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestExpansionBombs lints Dockerfiles whose variables grow without bound
// if expanded naively: doubling (`ENV B2=$B1$B1`), a linear chain, many
// copies of one long value, many long words in one instruction, and
// nested ${A//?/...} replacements. Each must allocate about what the same
// Dockerfile with its $ taken out does (the parser's share; a naive
// linter allocates gigabytes to 2^40 bytes more) and treat the huge values
// as unknown, not judge them. Not parallel: it reads the process's
// allocation counter.
func TestExpansionBombs(t *testing.T) {
	var doubling, chain, copies, words, nested, flat strings.Builder
	doubling.WriteString("FROM alpine\nENV B0=0123456789abcdef\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&doubling, "ENV B%d=$B%d$B%d\n", i, i-1, i-1)
	}
	doubling.WriteString("WORKDIR /tmp/$B40\nCOPY $B40 /x\nRUN echo $B40 > /workspace/$B40\n")
	chain.WriteString("FROM alpine\nARG V0=x\n")
	for i := 1; i <= 20000; i++ {
		fmt.Fprintf(&chain, "ARG V%d=$V%d/x\n", i, i-1)
	}
	chain.WriteString("COPY $V20000 /x\n")
	long := "/workspace/" + strings.Repeat("a", 4000)
	copies.WriteString("FROM alpine\nENV A=" + long + "\n")
	for i := 0; i < 30000; i++ {
		fmt.Fprintf(&copies, "ENV C%d=$A\n", i)
	}
	copies.WriteString("VOLUME $C29999\n")
	words.WriteString("FROM alpine\nENV A=" + long + "\n")
	for i := 0; i < 10; i++ {
		words.WriteString("RUN touch" + strings.Repeat(" $A", 4000) + "\nCOPY" + strings.Repeat(" $A", 4000) + " /x/\n")
	}
	nested.WriteString("FROM alpine\nARG A=" + strings.Repeat("a", 600) + "\nFROM alpine:${A//?/${A//?/${A//?/x}}}\n" +
		"ENV A=" + strings.Repeat("a", 600) + "\nENV X=${A//?/${A//?/${A//?/x}}}\nRUN sh -c \"echo ${A//?/${A//?/${A//?/x}}} > /workspace/x\"\n")
	flat.WriteString("FROM alpine\nENV A=" + strings.Repeat("a", 4000) + "\nENV X=${A//?/" + strings.Repeat("b", 60000) + "}\n")
	dir := writeContext(t, map[string]string{"present": ""})
	allocs := func(src string) (uint64, []Finding) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fs := lintString(t, src, Options{Context: dir})
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, fs
	}
	for _, tc := range []struct {
		name, src string
		// known: the values fit the budgets, so findings about the
		// first words of each instruction are right.
		known bool
	}{
		{"doubling", doubling.String(), false},
		{"chain", chain.String(), false},
		{"copies", copies.String(), false},
		{"many words", words.String(), true},
		{"nested replacement", nested.String(), false},
		{"flat replacement", flat.String(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			control, _ := allocs(strings.ReplaceAll(tc.src, "$", "_"))
			n, fs := allocs(tc.src)
			const limit = 64 << 20
			if n > control+limit {
				t.Errorf("allocated %d MiB for a %d KiB Dockerfile, %d MiB without its variables; want at most %d MiB more", n>>20, len(tc.src)>>10, control>>20, limit>>20)
			}
			if tc.known {
				if len(fs) == 0 || len(fs) > 20*(instructionBudget/4000+1) {
					t.Errorf("%d findings, want some, and no more than the instruction budget lets through", len(fs))
				}
				return
			}
			for _, f := range fs {
				if f.ID == RuleSourceMissing || f.ID == RuleMountedDest || f.ID == RuleMountedRun || f.ID == RuleParse {
					t.Errorf("judged an unknowable value: %.200v", f)
				}
			}
		})
	}
}

func TestPatternSubstitution(t *testing.T) {
	t.Parallel()
	for word, want := range map[string]bool{
		"${A//x/y}": true, "${A/x/y}": true, "a${B_1/x}": true, "$A/x": false, "${A}/x": false,
		"${A:-/x}": false, "${A%/x}": false, "${1/x}": false, "${": false, "${A": false, "x${A}${B/y}": true,
	} {
		if got := patternSubstitution(word); got != want {
			t.Errorf("patternSubstitution(%q) = %v, want %v", word, got, want)
		}
	}
}
