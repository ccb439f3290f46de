package lint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/agext/levenshtein"
	"github.com/google/go-containerregistry/pkg/name"
	parsed "github.com/kanikorun/kanikorun/internal/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// dockerfile is the typed view of a parsed Dockerfile the checks use.
type dockerfile struct {
	metaArgs []argDecl
	stages   []*stage
}

// argDecl is one ARG key before the first FROM.
type argDecl struct {
	key   string
	value *string
}

type stage struct {
	index int
	name  string // lowercase, as BuildKit and kaniko compare it
	from  *instructions.Stage
	node  *parser.Node
	cmds  []command
	deps  map[int]bool
	// depsUnknown: it may use an earlier stage through a variable the
	// linter cannot resolve.
	depsUnknown bool
	// dupName: another stage has the same name, so the name alone does
	// not say which one a message means.
	dupName bool
}

type command struct {
	cmd  instructions.Command
	node *parser.Node
}

// label names a stage in messages.
func (s *stage) label() string {
	if s.name != "" && s.dupName {
		return fmt.Sprintf("stage %q (line %d)", s.name, s.node.StartLine)
	}
	if s.name != "" {
		return fmt.Sprintf("stage %q", s.name)
	}
	return fmt.Sprintf("stage %d (FROM %s)", s.index, s.from.BaseName)
}

// build types every instruction, reporting each one BuildKit rejects, and
// keeps going so one bad line does not hide the rest.
func (l *linter) build(ins []parsed.Instruction) *dockerfile {
	df := &dockerfile{}
	for _, in := range ins {
		n := in.Node
		if in.Err != nil {
			l.parseFailure(in.Err, n)
			continue
		}
		switch c := in.Command.(type) {
		case *instructions.Stage:
			df.stages = append(df.stages, &stage{index: len(df.stages), name: c.Name, from: c, node: n, deps: map[int]bool{}})
		case *instructions.ArgCommand:
			if len(df.stages) == 0 {
				for _, kv := range c.Args {
					df.metaArgs = append(df.metaArgs, argDecl{key: kv.Key, value: kv.Value})
				}
				continue
			}
			cur := df.stages[len(df.stages)-1]
			cur.cmds = append(cur.cmds, command{cmd: c, node: n})
		case instructions.Command:
			if len(df.stages) == 0 {
				l.parseFailure(fmt.Errorf("%s before the first FROM: only ARG may come before FROM", strings.ToUpper(c.Name())), n)
				continue
			}
			cur := df.stages[len(df.stages)-1]
			cur.cmds = append(cur.cmds, command{cmd: c, node: n})
		}
	}
	return df
}

// check runs every rule over the typed Dockerfile.
func (l *linter) check(df *dockerfile) {
	meta := l.metaEnv(df)
	byName := map[string]int{}
	for _, s := range df.stages {
		if s.name == "" {
			continue
		}
		first, dup := byName[s.name]
		if !dup {
			byName[s.name] = s.index
			continue
		}
		df.stages[first].dupName, s.dupName = true, true
		line, col := l.at(s.node, s.from.Name)
		l.add(finding{Finding: Finding{ID: RuleStageRef, Severity: Warning, Line: line, Column: col,
			Message: fmt.Sprintf("stage name %q is used again (first at line %d): which stage a reference means is up to the builder (BuildKit flags it too: DuplicateStageName)", s.name, df.stages[first].node.StartLine),
			Hint:    "give each stage its own name"}, anchor: s.node.StartLine})
	}
	workdirs := make([]string, len(df.stages))
	for _, s := range df.stages {
		l.curStage = s.index + 1
		wd := l.checkFrom(s, meta, byName)
		if bi, ok := l.baseStage(s, meta, byName); ok {
			wd = workdirs[bi]
		}
		workdirs[s.index] = l.checkStage(s, meta, byName, wd)
	}
	l.curStage = 0
	l.reportNearMisses(df)
	built := l.checkTargetAndUse(df, byName)
	if built != nil {
		l.notBuilt(df, built)
	}
	l.checkKanikoDir(df, built)
}

// checkKanikoDir reports an executor --kaniko-dir that moves /kaniko
// (any text but /kaniko itself: the executor compares the text) while
// KANIKO_DIR, which kaniko reads for what it keeps out of the image and
// across stages, does not name the new directory.
func (l *linter) checkKanikoDir(df *dockerfile, built []bool) {
	dir, env := l.o.KanikoDir, l.o.KanikoDirEnv
	if dir == "" || dir == "/kaniko" || env != "" && path.Clean(env) == path.Clean(dir) {
		return
	}
	clean := path.Clean(dir)
	if clean == "/kaniko" {
		l.add(finding{Finding: Finding{ID: RuleKanikoDir, Severity: Error,
			Message: fmt.Sprintf("--kaniko-dir=%s is not /kaniko to the executor, which compares the text: it copies /kaniko onto itself, which empties its files, and then removes /kaniko, its own certificates and credentials included", dir),
			Hint:    "write --kaniko-dir=/kaniko, or leave the flag out"}})
		return
	}
	kept := "/kaniko (its KANIKO_DIR)"
	if env != "" {
		kept = env + " (its KANIKO_DIR)"
	}
	stages := len(df.stages)
	if built != nil {
		stages = 0
		for _, b := range built {
			if b {
				stages++
			}
		}
	}
	msg := fmt.Sprintf("--kaniko-dir=%s: the executor moves /kaniko to %s and removes it, so the executor images' SSL_CERT_DIR=/kaniko/ssl/certs is gone and HTTPS registries fail their certificate check", dir, clean)
	if stages > 1 {
		msg = fmt.Sprintf("--kaniko-dir=%s: the executor moves /kaniko to %s but keeps leaving only %s out of its clean-up between stages, so after the first of these %d stages it deletes %s, credentials included, and pushes without them; and the executor images' SSL_CERT_DIR=/kaniko/ssl/certs is gone, so HTTPS registries fail their certificate check", dir, clean, kept, stages, clean)
	}
	l.add(finding{Finding: Finding{ID: RuleKanikoDir, Severity: Warning, Message: msg,
		Hint: fmt.Sprintf("leave --kaniko-dir out; where the directory must move, give the executor KANIKO_DIR=%s and SSL_CERT_DIR=%s/ssl/certs in its environment too", clean, clean)}})
}

// buildTimeRules are the rules about what happens while kaniko builds a
// stage. The others (a parse error, --target) stop kaniko whichever stages
// it builds, and so do --exclude and --parents on upstream, whose parser
// does not know them (see buildTime).
var buildTimeRules = map[string]bool{
	RuleRunHeredoc: true, RuleCopyHeredoc: true, RuleMountSecret: true, RuleMountOther: true,
	RuleRunFlags: true, RuleFromPlatform: true, RuleMountedDest: true, RuleMountedRun: true,
	RuleSourceMissing: true, RuleSourceIgnored: true, RuleFromArg: true, RuleStageRef: true,
	RuleURLChecksum: true, RuleChecksumLocal: true,
}

// notBuilt turns findings in stages the executor does not build into
// notes: they cannot fail this build or change its image. kaniko stops
// after the target stage (MakeKanikoStages), and with
// --skip-unused-stages (the fork's default) also skips stages the target
// does not use.
func (l *linter) notBuilt(df *dockerfile, built []bool) {
	for i := range l.findings {
		f := &l.findings[i]
		if f.stage == 0 || built[f.stage-1] || !l.buildTime(f.ID) || f.Severity == Info {
			continue
		}
		f.Severity = Info
		f.Message += fmt.Sprintf(" (%s is not built for this target)", df.stages[f.stage-1].label())
	}
}

// buildTime reports whether rule id is about building a stage with this
// executor rather than parsing the Dockerfile.
func (l *linter) buildTime(id string) bool {
	if id == RuleExclude || id == RuleParents {
		// The fork parses both flags and ignores them.
		return l.exec.Flavor == Fork
	}
	return buildTimeRules[id]
}

// metaScope is what FROM lines can expand: the ARGs before the first FROM
// with their defaults or --build-arg values, plus every --build-arg (kaniko
// hands all of them to FROM resolution, declared or not).
type metaScope struct {
	env      *envMap
	declared map[string]bool
}

func (l *linter) metaEnv(df *dockerfile) *metaScope {
	m := &metaScope{env: newEnv(), declared: map[string]bool{}}
	for k, v := range l.buildArgs {
		m.env.set(k, v)
	}
	for _, name := range platformArgs {
		m.env.setUnknown(name)
	}
	for _, a := range df.metaArgs {
		m.env.startInstruction()
		m.declared[a.key] = true
		switch v, given := l.buildArgs[a.key]; {
		case given:
			m.env.set(a.key, v)
		case a.value == nil:
			// No value: FROM sees it unset unless set earlier.
		default:
			if x, ok := l.expand(*a.value, m.env); ok {
				m.env.set(a.key, x)
			} else {
				m.env.setUnknown(a.key)
			}
		}
	}
	return m
}

// platformArgs are the ARGs builders predefine in the global scope; their
// values depend on the executor, so expansions using them are not judged.
var platformArgs = []string{
	"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
	"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
}

// errTooLong is an expansion the linter does not follow (see expandWord).
var errTooLong = errors.New("the expansion is longer than the linter follows")

// resolveBase expands a stage's FROM name with the meta ARGs; unmatched
// lists the variables it used that have no known value.
func (l *linter) resolveBase(s *stage, meta *metaScope) (base string, unmatched map[string]struct{}, err error) {
	meta.env.startInstruction()
	res, ok, err := expandWord(l.lex, s.from.BaseName, meta.env)
	if err == nil && !ok {
		err = errTooLong
	}
	if err != nil {
		return "", nil, err
	}
	return res.Result, res.Unmatched, nil
}

// baseStage returns the index of the earlier stage this stage builds on.
func (l *linter) baseStage(s *stage, meta *metaScope, byName map[string]int) (int, bool) {
	base, unmatched, err := l.resolveBase(s, meta)
	if err != nil || len(unmatched) > 0 {
		return 0, false
	}
	if i, ok := byName[strings.ToLower(base)]; ok && i < s.index {
		return i, true
	}
	return 0, false
}

// checkFrom checks the FROM line: ARGs without value, the base reference,
// --platform. It returns the stage's initial working directory ("" when
// unknown).
func (l *linter) checkFrom(s *stage, meta *metaScope, byName map[string]int) string {
	n := s.node
	if p := s.from.Platform; p != "" && !harmlessPlatform(p) {
		line, col := l.atFlag(n, "--platform")
		custom := l.o.CustomPlatform
		switch x, ok := l.expand(p, meta.env); {
		case custom == "":
			l.capFinding(FeatFromPlatform, n, line, col,
				fmt.Sprintf("FROM --platform=%s is ignored: kaniko builds for the executor's platform", p),
				fmt.Sprintf("remove --platform and pass the executor flag --custom-platform=%s", platformHint(p)))
		case ok && strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(custom)):
			// The executor is told to build for that platform anyway.
		default:
			l.capFinding(FeatFromPlatform, n, line, col,
				fmt.Sprintf("FROM --platform=%s is ignored: kaniko builds for --custom-platform=%s", p, custom),
				"remove --platform: the executor's --custom-platform decides the platform of every stage")
		}
	}
	base, unmatched, err := l.resolveBase(s, meta)
	if errors.Is(err, errTooLong) {
		// Nothing to say about a name that long but that it is unknown.
		s.depsUnknown = true
		return ""
	}
	if err != nil {
		s.depsUnknown = true
		line, col := l.at(n, s.from.BaseName)
		l.add(finding{Finding: Finding{ID: RuleFromArg, Severity: Error, Line: line, Column: col,
			Message: oneLine(fmt.Sprintf("FROM %s cannot be expanded: %v", s.from.BaseName, err)),
			Hint:    "give the ARG a default (ARG NAME=value) or pass --build-arg NAME=value"}, anchor: n.StartLine})
		return ""
	}
	// A variable with no value expands to the empty string, in kaniko as in
	// docker: FROM ${REPO}busybox builds busybox. Only platform ARGs,
	// whose values depend on the executor, leave the base unknown.
	reliable := true
	bare := bareVars(s.from.BaseName)
	var missing []string
	for v := range unmatched {
		switch {
		case isPlatformArg(v):
			reliable = false
		case bare[v]:
			missing = append(missing, v)
		}
		// Otherwise only used as ${v:-default} and friends: unset is fine.
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		if bad := l.reportFromArgs(s, meta, byName, base, missing, reliable); bad {
			// The finding says why the base is wrong; KR017 would repeat it.
			s.depsUnknown = true
			return ""
		}
	}
	if !reliable {
		s.depsUnknown = true
		return ""
	}
	lower := strings.ToLower(base)
	if lower == "scratch" {
		return "/"
	}
	// FROM alpine AS alpine names the image: a stage is not its own base.
	if i, ok := byName[lower]; ok && i != s.index {
		if i < s.index {
			s.deps[i] = true
			return ""
		}
		line, col := l.at(n, s.from.BaseName)
		l.add(finding{Finding: Finding{ID: RuleStageRef, Severity: Error, Line: line, Column: col,
			Message: fmt.Sprintf("FROM %s names a stage that is defined later: kaniko pulls an image called %q instead", base, base),
			Hint:    "move the stage above this one, or rename the stage or the image"}, anchor: n.StartLine})
		return ""
	}
	if _, err := name.ParseReference(base); err != nil {
		line, col := l.at(n, s.from.BaseName)
		l.add(finding{Finding: Finding{ID: RuleStageRef, Severity: Error, Line: line, Column: col,
			Message: oneLine(fmt.Sprintf("FROM %s is neither an earlier stage nor a valid image reference: %v", base, err)),
			Hint:    "name an earlier stage or an image such as alpine:3.20 (repository names are lowercase)"}, anchor: n.StartLine})
	} else if near, i := nearStage(base, byName, s.index); near != "" {
		line, col := l.at(n, s.from.BaseName)
		l.nearMisses = append(l.nearMisses, nearMiss{stage: i, f: finding{Finding: Finding{ID: RuleStageRef, Severity: Warning, Line: line, Column: col,
			Message: fmt.Sprintf("FROM %s names no stage, so kaniko pulls the image %s; the earlier stage %q, which nothing uses, is the nearest name", base, fullImageName(base), near),
			Hint:    fmt.Sprintf("write FROM %s if the stage is meant", near)}, anchor: n.StartLine, stage: l.curStage}})
	}
	return ""
}

// nearMiss is a KR017 warning about a reference close to the name of an
// earlier stage, said only if nothing else uses that stage: a stage a
// later FROM or COPY --from does use was not what the name missed
// (FROM kong after a stage kong-plugins that is copied from).
type nearMiss struct {
	stage int
	f     finding
}

// reportNearMisses adds the near-miss warnings whose stage no stage
// depends on; none when some reference could not be resolved.
func (l *linter) reportNearMisses(df *dockerfile) {
	used := map[int]bool{}
	for _, s := range df.stages {
		if s.depsUnknown {
			return
		}
		for i := range s.deps {
			used[i] = true
		}
	}
	for _, m := range l.nearMisses {
		if !used[m.stage] {
			l.add(m.f)
		}
	}
}

// nearStage is the name and index of a stage before stage index that
// ref, a bare image name (no registry, tag or digest), was probably meant
// to name: within one letter of it (two for names of five letters or
// more), or starting with it (build for builddocker). "" when there is
// none, and for the names of Docker's official images (COPY --from=nginx
// is meant).
func nearStage(ref string, byName map[string]int, index int) (string, int) {
	ref = strings.ToLower(ref)
	if len(ref) < 3 || strings.ContainsAny(ref, "/:@") || officialImages()[ref] {
		return "", 0
	}
	limit := 1
	if len(ref) >= 5 {
		limit = 2
	}
	best, bestI, bestD := "", 0, limit+1
	for stageName, i := range byName {
		if i >= index || stageName == ref {
			continue
		}
		d := levenshtein.Distance(ref, stageName, nil)
		if strings.HasPrefix(stageName, ref) {
			d = min(d, 1)
		}
		if d < bestD || d == bestD && stageName < best {
			best, bestI, bestD = stageName, i, d
		}
	}
	return best, bestI
}

// officialImages are the repositories of Docker's official images
// (docker.io/library), current and deprecated, which Dockerfiles name
// without a registry; made on first use, not at start-up.
var officialImages = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`adminer aerospike almalinux alpine alt amazoncorretto amazonlinux api-firewall
		arangodb archlinux backdrop bash bonita buildpack-deps busybox caddy cassandra celery centos chronograf
		cirros clearlinux clefos clickhouse clojure composer consul convertigo couchbase couchdb crate dart debian
		django docker drupal eclipse-mosquitto eclipse-temurin eggdrop elasticsearch elixir emqx erlang
		express-gateway fedora flink fluentd friendica gazebo gcc geonetwork ghost golang gradle groovy haproxy
		haskell haxe hello-world hitch httpd hylang ibm-semeru-runtimes ibmjava influxdb iojs irssi java jenkins
		jetty joomla jruby julia kapacitor kibana kong krakend lightstreamer liquibase logstash mageia mariadb
		matomo maven mediawiki memcached mongo mongo-express monica mono mysql nats nats-streaming neo4j
		neurodebian nextcloud nginx node notary odoo open-liberty openjdk opensuse oraclelinux orientdb owncloud
		percona perl photon php php-zendserver phpmyadmin plone postfixadmin postgres pypy python r-base
		rabbitmq rails rakudo-star redis redmine registry rethinkdb rocket.chat rockylinux ros ruby rust
		sapmachine satosa scratch sentry silverpeas sl solr sonarqube spark spiped storm swift swipl teamspeak
		telegraf thrift tomcat tomee traefik ubuntu unit varnish vault websphere-liberty wordpress xwiki yourls
		znc zookeeper`) {
		m[n] = true
	}
	return m
})

// fullImageName is ref as the registry sees it: docker.io/library/build:latest.
func fullImageName(ref string) string {
	r, err := name.ParseReference(ref)
	if err != nil {
		return ref
	}
	return r.Name()
}

// reportFromArgs reports the variables a FROM uses without a value, and
// whether the base they leave is wrong. They expand to the empty string:
// an error when that leaves no base or an invalid reference (kaniko
// stops), a warning when it is still a valid one (BuildKit says nothing
// then, and kaniko builds it, though it may not be the image meant).
func (l *linter) reportFromArgs(s *stage, meta *metaScope, byName map[string]int, base string, missing []string, reliable bool) (bad bool) {
	n := s.node
	sev := Warning
	var result string
	lower := strings.ToLower(base)
	_, isStage := byName[lower]
	switch refErr := checkImageRef(base); {
	case !reliable:
		result = "the base also depends on the executor's platform, so the linter cannot tell whether the result is valid"
	case strings.TrimSpace(base) == "":
		sev, bad = Error, true
		result = "the base is empty and kaniko stops"
	case lower == "scratch" || isStage || refErr == nil:
		result = fmt.Sprintf("kaniko builds FROM %s", base)
	default:
		sev, bad = Error, true
		result = oneLine(fmt.Sprintf("%q is not a valid image reference (%v) and kaniko stops", base, refErr))
	}
	// A few findings per FROM say it all; thousands would not.
	for _, v := range missing[:min(len(missing), 3)] {
		ref := "$" + v
		if strings.Contains(s.from.BaseName, "${"+v) {
			ref = "${" + v
		}
		line, col := l.atFlag(n, ref)
		what := fmt.Sprintf("ARG %s, which has no default and no --build-arg", v)
		if !meta.declared[v] {
			what = fmt.Sprintf("%s, which is neither declared with ARG before the first FROM nor passed with --build-arg", v)
		}
		msg := fmt.Sprintf("FROM %s uses %s: it expands to the empty string, so %s", s.from.BaseName, what, result)
		hint := fmt.Sprintf("give it a default (ARG %s=value before the first FROM) or pass --build-arg %s=value", v, v)
		if sev == Warning && reliable {
			hint = fmt.Sprintf("if %s is the image you mean, say so with an empty default (ARG %s= before the first FROM); otherwise %s", base, v, hint)
		}
		l.add(finding{Finding: Finding{ID: RuleFromArg, Severity: sev, Line: line, Column: col, Message: oneLine(msg), Hint: hint}, anchor: n.StartLine})
	}
	return bad
}

// checkImageRef is name.ParseReference plus what docker's reference
// grammar adds and go-containerregistry lets through: a name starts with a
// lowercase letter or digit, and has no empty path component. An empty
// variable at the start of a FROM (${REGISTRY}/app) leaves just that.
func checkImageRef(ref string) error {
	if _, err := name.ParseReference(ref); err != nil {
		return err
	}
	if c := ref[0]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
		return fmt.Errorf("a repository name must start with a lowercase letter or a digit")
	}
	if repo, _, _ := strings.Cut(ref, "@"); strings.Contains(repo, "//") {
		return fmt.Errorf("a repository name has no empty path component")
	}
	return nil
}

func isPlatformArg(v string) bool {
	for _, p := range platformArgs {
		if p == v {
			return true
		}
	}
	return false
}

// harmlessPlatform reports --platform values that ask for what kaniko
// does anyway: the build platform, or the target it was told about.
func harmlessPlatform(p string) bool {
	switch strings.TrimSpace(p) {
	case "$BUILDPLATFORM", "${BUILDPLATFORM}", "$TARGETPLATFORM", "${TARGETPLATFORM}":
		return true
	}
	return false
}

func platformHint(p string) string {
	if strings.Contains(p, "$") {
		return "<os/arch>"
	}
	return p
}

// bareVars returns the variables word expands without a fallback ($v,
// ${v}, ${v%...}), as opposed to those only used as ${v:-default},
// ${v-default}, ${v:+alt}, ${v+alt} or ${v:?msg}, in one pass.
func bareVars(word string) map[string]bool {
	bare := map[string]bool{}
	for i := 0; i < len(word); i++ {
		if word[i] != '$' || i+1 >= len(word) {
			continue
		}
		j := i + 1
		braced := word[j] == '{'
		if braced {
			j++
		}
		k := j
		for k < len(word) && isNameChar(word[k]) {
			k++
		}
		if k == j {
			continue
		}
		name := word[j:k]
		if !braced || k == len(word) || !strings.ContainsRune(":-+?", rune(word[k])) {
			bare[name] = true
		}
		i = k - 1
	}
	return bare
}

func isNameChar(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// checkStage walks a stage's instructions with its ARG/ENV scope and
// working directory; it returns the working directory at its end.
func (l *linter) checkStage(s *stage, meta *metaScope, byName map[string]int, workdir string) string {
	env := newEnv()
	for _, c := range s.cmds {
		env.startInstruction()
		n := c.node
		switch cmd := c.cmd.(type) {
		case *instructions.ArgCommand:
			for _, kv := range cmd.Args {
				switch v, given := l.buildArgs[kv.Key]; {
				case given:
					env.set(kv.Key, v)
				case kv.Value != nil:
					if x, ok := l.expand(*kv.Value, env); ok {
						env.set(kv.Key, x)
					} else {
						env.setUnknown(kv.Key)
					}
				default:
					// ARG without a default inherits the global one.
					if x, ok := meta.env.get(kv.Key); ok && meta.declared[kv.Key] {
						env.set(kv.Key, x)
					} else if isPlatformArg(kv.Key) {
						env.setUnknown(kv.Key)
					} else {
						env.set(kv.Key, "")
					}
				}
			}
		case *instructions.EnvCommand:
			for _, kv := range cmd.Env {
				if x, ok := l.expand(kv.Value, env); ok {
					env.set(kv.Key, x)
				} else {
					env.setUnknown(kv.Key)
				}
			}
		case *instructions.WorkdirCommand:
			p, ok := l.expand(cmd.Path, env)
			switch {
			case !ok:
				workdir = ""
			case path.IsAbs(p):
				workdir = path.Clean(p)
			case workdir != "":
				workdir = path.Join(workdir, p)
			default:
				workdir = ""
			}
			if workdir != "" {
				l.checkMountedPath(n, "WORKDIR "+cmd.Path, workdir, cmd.Path, true)
			}
		case *instructions.VolumeCommand:
			reported := 0
			for _, v := range cmd.Volumes {
				if p, ok := l.absPath(v, env, workdir); ok && reported < 3 && l.checkMountedPath(n, "VOLUME "+v, p, v, true) {
					reported++
				}
			}
		case *instructions.RunCommand:
			l.checkExecForm(n, "RUN", n.Next)
			l.checkRun(s, cmd, n, env, byName)
		case *instructions.CmdCommand:
			l.checkExecForm(n, "CMD", n.Next)
		case *instructions.EntrypointCommand:
			l.checkExecForm(n, "ENTRYPOINT", n.Next)
		case *instructions.HealthCheckCommand:
			if n.Next != nil && strings.EqualFold(n.Next.Value, "CMD") {
				l.checkExecForm(n, "HEALTHCHECK CMD", n.Next.Next)
			}
		case *instructions.CopyCommand:
			l.checkCopy(s, cmd, n, env, byName, workdir)
		case *instructions.AddCommand:
			l.checkAdd(cmd, n, env, workdir)
		}
	}
	return workdir
}

// checkExecForm reports an instruction whose arguments look like an exec
// form array (a [ then a quote) but are not JSON, which the parser then
// takes as a shell command: args is the node holding them.
func (l *linter) checkExecForm(n *parser.Node, inst string, args *parser.Node) {
	if args == nil || n.Attributes["json"] {
		return
	}
	text := strings.TrimSpace(args.Value)
	if !looksLikeArray(text) {
		return
	}
	why := "it is not valid JSON (straight double quotes only, no trailing comma)"
	var arr []string
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&arr); err == nil {
		rest := strings.TrimSpace(text[dec.InputOffset():])
		why = fmt.Sprintf("text follows the closing ] (%q)", shorten(rest, 30))
		if strings.HasPrefix(rest, "#") {
			why = fmt.Sprintf("text follows the closing ] (%q: # starts a comment only at the beginning of a line)", shorten(rest, 30))
		}
	}
	line, col := l.at(n, "[")
	l.add(finding{Finding: Finding{ID: RuleExecFormJSON, Severity: Warning, Line: line, Column: col,
		Message: fmt.Sprintf("%s is not an exec-form array: %s; the parser takes it as a shell command, so the shell runs '%s', not the program it names", inst, why, shorten(text, 24)),
		Hint:    "make it a JSON array of double-quoted strings with nothing after the ], or write the shell form without brackets"}, anchor: n.StartLine})
}

// looksLikeArray says text, the arguments of an instruction in shell
// form, was meant as an exec-form array: a [, a quoted word, and then a
// comma, or a ] followed by nothing, a # comment or more words. The
// shell's test command is not: [ -e f ], [ "$A" = "b" ] && ..., and
// [ "$DEBUG" ] || ... (a ] followed by an operator).
func looksLikeArray(text string) bool {
	inner, ok := strings.CutPrefix(text, "[")
	if !ok {
		return false
	}
	inner = strings.TrimLeft(inner, " \t")
	open, size := utf8.DecodeRuneInString(inner)
	var closing string
	switch open {
	case '"', '\'':
		closing = string(open)
	case '\u201c', '\u2018':
		// Typographic quotes: either of the pair may close.
		closing = string(open) + string(open+1)
	default:
		return false
	}
	word := inner[size:]
	end := -1
	for i, r := range word {
		if strings.ContainsRune(closing, r) && (i == 0 || word[i-1] != '\\') {
			end = i + utf8.RuneLen(r)
			break
		}
	}
	if end < 0 {
		return false
	}
	after := strings.TrimLeft(word[end:], " \t")
	switch {
	case strings.HasPrefix(after, ","):
		return true
	case strings.HasPrefix(after, "]"):
		rest := strings.TrimSpace(after[1:])
		return rest == "" || !strings.ContainsAny(rest[:1], "&|;<>")
	}
	return false
}

// shorten cuts s to at most n runes, marking the cut with "...".
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

// absPath expands p and makes it absolute against the working directory.
func (l *linter) absPath(p string, env *envMap, workdir string) (string, bool) {
	x, ok := l.expand(p, env)
	if !ok || x == "" {
		return "", false
	}
	if path.IsAbs(x) {
		return path.Clean(x), true
	}
	if workdir == "" {
		return "", false
	}
	return path.Join(workdir, x), true
}

// expand expands ARG/ENV references like kaniko does; ok is false when the
// result depends on a variable whose value is not known statically.
func (l *linter) expand(word string, env *envMap) (string, bool) {
	if !strings.Contains(word, "$") && !strings.ContainsAny(word, `"'\`+"`") {
		return word, true
	}
	res, ok, err := expandWord(l.lex, word, env)
	if err != nil || len(res.Unmatched) > 0 || !ok {
		return "", false
	}
	return res.Result, true
}

// capFinding reports a feature the executor does not support, with the
// severity the capability table gives it.
func (l *linter) capFinding(f Feature, n *parser.Node, line, col int, msg, hint string) {
	c, ok := capabilityIndex[f]
	if !ok || c.support(l.exec) == Works {
		return
	}
	l.add(finding{Finding: Finding{ID: c.rule, Severity: c.severity, Line: line, Column: col, Message: msg, Hint: hint}, anchor: n.StartLine})
}

// forkHint is how a hint names the way out when the fork has the feature.
func (l *linter) forkHint(f Feature, rewrite string) string {
	c, ok := capabilityIndex[f]
	if ok && c.support(forkImage()) == Works && l.exec.Flavor != Fork {
		return rewrite + ", or switch to the fork: --executor-image " + ForkImage
	}
	return rewrite
}

func (l *linter) checkRun(s *stage, cmd *instructions.RunCommand, n *parser.Node, env *envMap, byName map[string]int) {
	if len(n.Heredocs) > 0 {
		l.checkRunHeredoc(n)
	}
	flags := map[string]bool{}
	for _, f := range cmd.FlagsUsed {
		flags[f] = true
	}
	if flags["mount"] {
		l.checkMounts(s, cmd, n, env, byName)
	}
	if flags["network"] {
		if mode := instructions.GetNetwork(cmd); mode != instructions.NetworkDefault {
			line, col := l.atFlag(n, "--network")
			l.capFinding(FeatRunNetwork, n, line, col,
				fmt.Sprintf("RUN --network=%s is ignored by kaniko: the step runs with the executor's own network", mode),
				"remove --network; do not rely on network isolation in a kaniko build")
		}
	}
	if flags["security"] {
		if sec := instructions.GetSecurity(cmd); sec != instructions.SecuritySandbox {
			line, col := l.atFlag(n, "--security")
			l.capFinding(FeatRunSecurity, n, line, col,
				fmt.Sprintf("RUN --security=%s is ignored by kaniko: the step runs with the executor container's privileges", sec),
				"remove --security; grant the executor container what the step needs instead")
		}
	}
	if flags["device"] {
		line, col := l.atFlag(n, "--device")
		l.capFinding(FeatRunDevice, n, line, col,
			"RUN --device is ignored by kaniko: the step sees only the executor container's devices",
			"remove --device")
	}
	l.checkRunWrites(cmd, n, env)
}

// checkRunHeredoc reports a RUN heredoc the executor does not run:
// upstream drops every heredoc body; the fork runs heredocs but skips the
// whole step when a delimiter is quoted (<<'EOF', <<"EOF"), exit 0.
func (l *linter) checkRunHeredoc(n *parser.Node) {
	quoted := ""
	for _, h := range n.Heredocs {
		if !h.Expand {
			quoted = h.Name
			break
		}
	}
	line, col := l.atFlag(n, "<<")
	inline := "write the script inline with && and \\ line continuations"
	if l.exec.Supports(FeatRunHeredoc) != Works {
		hint := l.forkHint(FeatRunHeredoc, inline)
		if quoted != "" && hint != inline {
			hint += " with an unquoted delimiter (<<" + quoted + "): the fork skips a RUN whose heredoc delimiter is quoted"
		}
		l.capFinding(FeatRunHeredoc, n, line, col,
			"heredoc in RUN: upstream kaniko runs the command without the heredoc body and exits 0 (wrong image)", hint)
		return
	}
	if quoted == "" {
		return
	}
	l.capFinding(FeatRunHeredocQuoted, n, line, col,
		fmt.Sprintf("heredoc in RUN with the quoted delimiter %s: the fork skips the whole step and exits 0 (wrong image)", quotedDelimiter(n, quoted)),
		fmt.Sprintf("unquote the delimiter (<<%s) and escape what the shell must not expand (\\$VAR, \\`cmd\\`), or %s", quoted, inline))
}

// quotedDelimiter returns the heredoc marker as written (<<'EOF',
// <<-"EOF"), or <<'name' when it is not found in the instruction's first
// line.
func quotedDelimiter(n *parser.Node, name string) string {
	for _, q := range []string{"'", `"`} {
		for _, dash := range []string{"", "-"} {
			m := "<<" + dash + q + name + q
			if strings.Contains(n.Original, m) {
				return m
			}
		}
	}
	return "<<'" + name + "'"
}

var mountFeatures = map[instructions.MountType]Feature{
	instructions.MountTypeSecret: FeatMountSecret,
	instructions.MountTypeSSH:    FeatMountSSH,
	instructions.MountTypeCache:  FeatMountCache,
	instructions.MountTypeBind:   FeatMountBind,
	instructions.MountTypeTmpfs:  FeatMountTmpfs,
}

var mountHints = map[instructions.MountType]string{
	instructions.MountTypeSecret: "mount secrets with the fork, which reads them from its --secret flag: --executor-image " + ForkImage,
	instructions.MountTypeSSH:    "kaniko has no SSH agent forwarding: fetch with a token from a secret mount instead",
	instructions.MountTypeCache:  "drop the --mount (the step still works, only slower)",
	instructions.MountTypeBind:   "COPY the files in an earlier step instead of bind-mounting them",
	instructions.MountTypeTmpfs:  "drop the --mount and remove the temporary files in the same RUN",
}

func (l *linter) checkMounts(s *stage, cmd *instructions.RunCommand, n *parser.Node, env *envMap, byName map[string]int) {
	mounts, err := expandMounts(cmd, func(w string) (string, error) {
		if x, ok := l.expand(w, env); ok {
			return x, nil
		}
		return w, nil
	})
	if err != nil {
		l.parseFailure(fmt.Errorf("RUN --mount: %w", err), n)
		return
	}
	for _, m := range mounts {
		if m == nil {
			continue
		}
		line, col := l.atFlag(n, "--mount")
		if m.From != "" {
			if i, ok := byName[strings.ToLower(m.From)]; ok && i < s.index {
				s.deps[i] = true
			} else if strings.Contains(m.From, "$") {
				s.depsUnknown = true
			}
		}
		f, ok := mountFeatures[m.Type]
		if !ok {
			continue
		}
		if m.Type == instructions.MountTypeBind && m.From != "" {
			f = FeatMountBindFrom
		}
		c := capabilityIndex[f]
		if c.support(l.exec) == Works {
			if m.Type == instructions.MountTypeSecret {
				l.checkSecretGiven(n, m, line, col)
			}
			continue
		}
		what := "runs without the mount"
		switch m.Type {
		case instructions.MountTypeSecret:
			what = "runs without the secret"
		case instructions.MountTypeSSH:
			what = "runs without the SSH agent"
		}
		hint := mountHints[m.Type]
		mount := "type=" + string(m.Type)
		switch f {
		case FeatMountCache, FeatMountBind:
			hint = l.forkHint(f, hint)
		case FeatMountBindFrom:
			mount += ",from=" + m.From
			hint = fmt.Sprintf("COPY --from=%s the files in an earlier step instead of bind-mounting them", m.From)
		}
		l.capFinding(f, n, line, col,
			fmt.Sprintf("RUN --mount=%s is not supported by this executor: the step %s", mount, what), hint)
	}
}

// checkSecretGiven reports a secret mount the executor will not be given:
// the fork mounts only secrets passed with its --secret flag and runs the
// step without any other (or stops, for required=true).
func (l *linter) checkSecretGiven(n *parser.Node, m *instructions.Mount, line, col int) {
	id := m.CacheID
	if id == "" && m.Target != "" {
		// The fork's default id, as BuildKit's: the target's base name.
		id = path.Base(m.Target)
	}
	if slices.Contains(l.o.Secrets, id) {
		return
	}
	msg := fmt.Sprintf("RUN --mount=type=secret,id=%s: the executor is not given secret %q, so the step runs without it", id, id)
	if m.Required {
		msg = fmt.Sprintf("RUN --mount=type=secret,id=%s,required: the executor is not given secret %q and stops with 'secret not defined'", id, id)
	}
	l.add(finding{Finding: Finding{ID: RuleMountSecret, Severity: Error, Line: line, Column: col, Message: msg,
		Hint: fmt.Sprintf("give kanikorun the secret from this machine: kanikorun build --secret id=%s,src=FILE (or env=VAR)", id)}, anchor: n.StartLine})
}

// expandMounts resolves the --mount flags; BuildKit only parses their
// fields once given an expander.
func expandMounts(cmd *instructions.RunCommand, expander instructions.SingleWordExpander) (mounts []*instructions.Mount, err error) {
	defer func() {
		if r := recover(); r != nil {
			mounts, err = nil, fmt.Errorf("the Dockerfile parser failed: %v", r)
		}
	}()
	if err := cmd.Expand(expander); err != nil {
		return nil, err
	}
	return instructions.GetMounts(cmd), nil
}

func (l *linter) checkCopy(s *stage, cmd *instructions.CopyCommand, n *parser.Node, env *envMap, byName map[string]int, workdir string) {
	if len(cmd.SourceContents) > 0 {
		line, col := l.atFlag(n, "<<")
		l.capFinding(FeatCopyHeredoc, n, line, col,
			"heredoc in COPY: upstream kaniko stops with 'resolved envs is empty'",
			l.forkHint(FeatCopyHeredoc, "put the content in a file in the context and COPY it"))
	}
	l.checkExclude(n, "COPY", cmd.ExcludePatterns)
	if cmd.Parents {
		line, col := l.atFlag(n, "--parents")
		msg := "COPY --parents is not supported: upstream kaniko stops with 'unknown flag: --parents'"
		if l.exec.Flavor == Fork {
			msg = "COPY --parents is ignored by the fork: the parent directories are dropped (out/s.txt, not out/sub/s.txt)"
		}
		l.capFinding(FeatCopyParents, n, line, col, msg,
			"COPY each directory to its full destination path (COPY sub/ out/sub/) instead of --parents")
	}
	if cmd.From != "" {
		l.checkCopyFrom(s, cmd.From, n, byName)
	} else {
		l.checkSources(n, "COPY", cmd.SourcePaths, env)
	}
	if p, ok := l.absPath(cmd.DestPath, env, workdir); ok {
		l.checkMountedPath(n, "COPY destination "+cmd.DestPath, p, cmd.DestPath, false)
	}
}

func (l *linter) checkExclude(n *parser.Node, inst string, patterns []string) {
	if len(patterns) == 0 {
		return
	}
	line, col := l.atFlag(n, "--exclude")
	msg := fmt.Sprintf("%s --exclude is not supported: upstream kaniko stops with 'unknown flag: --exclude'", inst)
	if l.exec.Flavor == Fork {
		msg = fmt.Sprintf("%s --exclude is ignored by the fork: the excluded files are copied anyway", inst)
	}
	l.capFinding(FeatCopyExclude, n, line, col, msg,
		"list the paths to copy explicitly, or exclude the files in .dockerignore")
}

// checkCopyFrom checks COPY --from: an earlier stage by name or index, or
// an image.
func (l *linter) checkCopyFrom(s *stage, from string, n *parser.Node, byName map[string]int) {
	if strings.Contains(from, "$") {
		s.depsUnknown = true
		return
	}
	bad := func(msg, hint string) {
		line, col := l.atFlag(n, "--from")
		l.add(finding{Finding: Finding{ID: RuleStageRef, Severity: Error, Line: line, Column: col, Message: msg, Hint: hint}, anchor: n.StartLine})
	}
	if i, err := strconv.Atoi(from); err == nil {
		if i >= 0 && i < s.index {
			s.deps[i] = true
			return
		}
		hint := fmt.Sprintf("use an index below %d or the stage's name", s.index)
		if s.index == 0 {
			hint = "the first stage can only copy from an image: name one, such as alpine:3.20"
		}
		bad(fmt.Sprintf("COPY --from=%d names no earlier stage: this is stage %d", i, s.index), hint)
		return
	}
	if i, ok := byName[strings.ToLower(from)]; ok {
		if i < s.index {
			s.deps[i] = true
			return
		}
		bad(fmt.Sprintf("COPY --from=%s names a stage that is not built before this one", from),
			"move that stage above this one")
		return
	}
	if _, err := name.ParseReference(from); err != nil {
		bad(oneLine(fmt.Sprintf("COPY --from=%s is neither an earlier stage nor a valid image reference: %v", from, err)),
			"name an earlier stage (FROM ... AS name) or an image such as alpine:3.20")
	} else if near, i := nearStage(from, byName, s.index); near != "" {
		line, col := l.atFlag(n, "--from")
		l.nearMisses = append(l.nearMisses, nearMiss{stage: i, f: finding{Finding: Finding{ID: RuleStageRef, Severity: Warning, Line: line, Column: col,
			Message: fmt.Sprintf("COPY --from=%s names no stage, so kaniko pulls the image %s; the earlier stage %q, which nothing uses, is the nearest name", from, fullImageName(from), near),
			Hint:    fmt.Sprintf("write COPY --from=%s if the stage is meant", near)}, anchor: n.StartLine, stage: l.curStage}})
	}
}

func (l *linter) checkAdd(cmd *instructions.AddCommand, n *parser.Node, env *envMap, workdir string) {
	if len(cmd.SourceContents) > 0 {
		line, col := l.atFlag(n, "<<")
		l.capFinding(FeatCopyHeredoc, n, line, col,
			"heredoc in ADD: upstream kaniko stops with 'resolved envs is empty'",
			l.forkHint(FeatCopyHeredoc, "put the content in a file in the context and COPY it"))
	}
	l.checkExclude(n, "ADD", cmd.ExcludePatterns)
	var local []string
	for _, src := range cmd.SourcePaths {
		x, ok := l.expand(src, env)
		if !ok {
			x = src
		}
		switch {
		case isURL(x):
			if cmd.Checksum == "" && !isGitSource(x) {
				line, col := l.at(n, src)
				l.add(finding{Finding: Finding{ID: RuleURLChecksum, Severity: Info, Line: line, Column: col,
					Message: fmt.Sprintf("ADD %s downloads without --checksum: a changed file goes unnoticed", src),
					Hint:    "add --checksum=sha256:<digest> so a changed download fails the build"}, anchor: n.StartLine})
			}
		case isGitSource(x):
		default:
			local = append(local, src)
		}
	}
	if cmd.Checksum != "" && len(local) > 0 {
		line, col := l.atFlag(n, "--checksum")
		l.capFinding(FeatAddChecksumLocal, n, line, col,
			fmt.Sprintf("ADD --checksum on the local source %s is ignored: the checksum is not verified", local[0]),
			"remove --checksum, or verify the file with sha256sum -c in a RUN step")
	}
	l.checkSources(n, "ADD", cmd.SourcePaths, env)
	if p, ok := l.absPath(cmd.DestPath, env, workdir); ok {
		l.checkMountedPath(n, "ADD destination "+cmd.DestPath, p, cmd.DestPath, false)
	}
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func isGitSource(s string) bool {
	return strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "git://") ||
		strings.HasPrefix(s, "ssh://") || (isURL(s) && (strings.HasSuffix(s, ".git") || strings.Contains(s, ".git#")))
}

// checkSources checks the sources of one COPY/ADD against the context and
// its ignore file the way kaniko resolves them (ResolveSources and
// IsSrcsValid in pkg/util/command_util.go, v1.23 and later):
//
//   - without a wildcard anywhere in the instruction, a source that does
//     not exist stops the build (lstat: no such file or directory);
//   - with a wildcard in any source, every source is matched against the
//     context's files, and whatever matches nothing is dropped without a
//     word, a plain name included; even an instruction that copies
//     nothing only logs "No files to copy";
//   - what .dockerignore excludes is skipped, never an error.
//
// BuildKit fails on a plain name it cannot find (an excluded one
// included) and accepts wildcards that match nothing. So a plain name
// that is missing or excluded is an error (kaniko stops, or builds
// without it where docker build fails); a wildcard that matches nothing,
// or only excluded files, is worth a warning only when the instruction as
// a whole copies nothing. URLs and sources with unknown variables count
// as copying something.
func (l *linter) checkSources(n *parser.Node, inst string, sources []string, env *envMap) {
	if l.ctx == nil {
		return
	}
	type source struct {
		raw, val string
		st       srcStatus
	}
	var local []source
	copies, wildcard := false, false
	for _, src := range sources {
		x, ok := l.expand(src, env)
		if !ok {
			// Its value, and so whether it has a wildcard, is unknown.
			copies = true
			continue
		}
		if hasWildcard(x) {
			wildcard = true
		}
		if isURL(x) || isGitSource(x) {
			copies = true
			continue
		}
		st := l.ctx.check(x)
		if st.state == srcOK || st.state == srcUnknown {
			copies = true
		}
		local = append(local, source{raw: src, val: x, st: st})
	}
	ignoreName := filepath.Base(l.ctx.ignorePath)
	for _, s := range local {
		src, x := s.raw, s.val
		plain := !hasWildcard(x)
		var id, msg, hint string
		sev := Error
		switch st := s.st.state; {
		case st == srcBadPattern:
			id = RuleSourceMissing
			msg = fmt.Sprintf("%s source %s is not a valid wildcard (%s): kaniko stops with 'failed to resolve sources'", inst, src, s.st.detail)
			hint = "fix the pattern: an unclosed [ is the usual cause; match a literal [ with [[]"
		case plain && st == srcMissing && wildcard:
			id = RuleSourceMissing
			msg = fmt.Sprintf("%s source %s matches nothing in the context %s: kaniko leaves it out without a word because another source has a wildcard (docker build fails)", inst, src, l.o.Context)
			hint = "fix the path (sources are relative to the context root) or add the file; for an optional file write a wildcard, e.g. " + optionalPattern(src)
		case plain && st == srcMissing:
			id = RuleSourceMissing
			msg = fmt.Sprintf("%s source %s matches nothing in the context %s: kaniko stops with 'no such file or directory'", inst, src, l.o.Context)
			hint = "fix the path (sources are relative to the context root) or add the file"
		case plain && st == srcExcluded:
			id = RuleSourceIgnored
			msg = fmt.Sprintf("%s source %s is excluded by %s: kaniko copies nothing for it and goes on (docker build fails)", inst, src, ignoreName)
			hint = "remove the matching pattern from " + ignoreName + " or add an exception (!" + strings.TrimPrefix(path.Clean("/"+x), "/") + ")"
		case copies:
			// An optional wildcard, or a directory .dockerignore empties,
			// next to a source that copies something: fine for both.
			continue
		case st == srcMissing:
			id, sev = RuleSourceMissing, Warning
			msg = fmt.Sprintf("%s source %s matches nothing in the context %s, so this %s copies nothing (kaniko logs 'No files to copy' and goes on)", inst, src, l.o.Context, inst)
			hint = "fix the pattern if the files should be there; if they are optional, say so with # kanikorun:ignore=" + RuleSourceMissing
		case st == srcExcluded:
			id, sev = RuleSourceIgnored, Warning
			msg = fmt.Sprintf("%s source %s: all it matches is excluded by %s, so this %s copies nothing", inst, src, ignoreName, inst)
			hint = "remove the matching pattern from " + ignoreName + " or add an exception (!path)"
		case st == srcEmptied:
			id, sev = RuleSourceIgnored, Warning
			msg = fmt.Sprintf("%s source %s: every file in it is excluded by %s, so this %s copies only empty directories", inst, src, ignoreName, inst)
			keep := strings.TrimPrefix(path.Clean("/"+x), "/")
			if keep != "" {
				keep += "/"
			}
			hint = "remove the matching pattern from " + ignoreName + " or add an exception for what to keep (!" + keep + "<file>)"
		default:
			continue
		}
		line, col := l.at(n, src)
		l.add(finding{Finding: Finding{ID: id, Severity: sev, Line: line, Column: col,
			Message: oneLine(msg), Hint: hint}, anchor: n.StartLine})
	}
	if l.ctx.ignoreErr != nil && !l.ctx.ignoreReported {
		l.ctx.ignoreReported = true
		col := 0
		if l.ctx.ignoreErrLine > 0 {
			col = 1
		}
		l.findings = append(l.findings, finding{Finding: Finding{ID: RuleParse, Severity: Error, File: displayPath(l.ctx.ignorePath),
			Line: l.ctx.ignoreErrLine, Column: col,
			Message: oneLine(l.ctx.ignoreErr.Error()),
			Hint:    "fix the pattern; see https://docs.docker.com/build/concepts/context/#dockerignore-files"}})
	}
}

// displayPath names a file for findings: relative to the working
// directory when it is below it, as the user would type it.
func displayPath(p string) string {
	wd, err := os.Getwd()
	if err != nil || !filepath.IsAbs(p) {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return rel
	}
	return p
}

// optionalPattern turns a plain source into a wildcard that matches it
// and may match nothing (yarn.lock -> yarn.loc[k]), the idiom for an
// optional file.
func optionalPattern(src string) string {
	if src == "" {
		return src
	}
	last := src[len(src)-1]
	if last == '/' || last == '.' {
		return src
	}
	return src[:len(src)-1] + "[" + string(last) + "]"
}

// Mounted directories a Dockerfile must not write to.
const (
	workspaceDir = "/workspace" // spec.WorkspaceDir: the context (local) or workspace volume (Job)
	kanikoDir    = "/kaniko"    // the executor's own directory, never snapshotted
)

// mountedDir returns which mounted directory p lies in, if any.
func mountedDir(p string) (string, bool) {
	p = path.Clean(p)
	for _, d := range []string{workspaceDir, kanikoDir} {
		if p == d || strings.HasPrefix(p, d+"/") {
			return d, true
		}
	}
	return "", false
}

// mountedSeverity is an error in both modes: kanikorun mounts the context
// read-only at /workspace for a local build, and its Job mounts the
// workspace claim read-only there too (kube.Render, and replay of that
// Job), so upstream fails on the write and the fork silently leaves the
// content out of the image.
func (l *linter) mountedSeverity() Severity {
	return Error
}

// mountedWhy explains what happens to writes under dir in this mode.
func (l *linter) mountedWhy(dir string) string {
	if dir == kanikoDir {
		return "/kaniko is the executor's own directory, which kaniko never puts in the image"
	}
	if l.o.Mode == Job {
		return "kanikorun's Job mounts the workspace volume read-only at /workspace, so the write fails (or the content is silently missing from the image)"
	}
	return "kanikorun mounts the build context read-only at /workspace, so the write fails (or the content is silently missing from the image)"
}

// existsInExecutor reports whether directory p exists in the executor
// container before the build starts: the mount points themselves, and
// locally a directory of the context under /workspace (in a Job the
// context sits at /workspace/<workspace-path> in a claim the linter
// cannot see). kaniko creates a
// WORKDIR or VOLUME only when it is missing, and `mkdir -p` leaves an
// existing directory alone, so neither writes to the read-only mount.
func (l *linter) existsInExecutor(p string) bool {
	p = path.Clean(p)
	if p == workspaceDir || p == kanikoDir {
		return true
	}
	rel, ok := strings.CutPrefix(p, workspaceDir+"/")
	if !ok || l.o.Mode != Local || l.o.Context == "" {
		return false
	}
	// Lstat: a symbolic link may point elsewhere inside the container.
	fi, err := os.Lstat(filepath.Join(l.o.Context, filepath.FromSlash(rel)))
	return err == nil && fi.IsDir()
}

// checkMountedPath reports a WORKDIR, COPY/ADD destination or VOLUME under
// a mounted directory, and whether it did. creates is true for WORKDIR and
// VOLUME, which only create a directory. Even where that succeeds (a
// directory the context already has, or one under /kaniko), the directory
// is missing from the image and the steps that follow write where nothing
// is kept or nothing can be written: a local build is stopped all the same,
// as issue 10 asks; the message says which case it is.
func (l *linter) checkMountedPath(n *parser.Node, what, abs, token string, creates bool) bool {
	dir, ok := mountedDir(abs)
	if !ok {
		return false
	}
	line, col := l.atLast(n, token)
	why := l.mountedWhy(dir)
	sev := l.mountedSeverity()
	if creates && sev == Error {
		switch {
		case dir == kanikoDir:
			why = "kaniko creates it in its own directory, which it never puts in the image; anything a later step writes there is lost"
		case l.existsInExecutor(abs) && l.o.Mode == Job:
			why = "it exists in the Job's read-only workspace mount, so kaniko need not create it, but it is not in the image and anything a later step writes there fails"
		case l.existsInExecutor(abs):
			why = "it exists in the read-only context mount, so kaniko need not create it, but it is not in the image and anything a later step writes there fails"
		}
	}
	msg := fmt.Sprintf("%s is under %s: %s", what, dir, why)
	if abs != token {
		msg = fmt.Sprintf("%s resolves to %s, under %s: %s", what, abs, dir, why)
	}
	l.add(finding{Finding: Finding{ID: RuleMountedDest, Severity: sev, Line: line, Column: col,
		Message: msg, Hint: "use a directory outside /workspace and /kaniko, e.g. /app or /src"}, anchor: n.StartLine})
	return true
}

// checkTargetAndUse checks --target and reports stages the target does not
// need. It returns which stages the executor builds, nil when that is not
// known.
func (l *linter) checkTargetAndUse(df *dockerfile, byName map[string]int) []bool {
	if len(df.stages) == 0 {
		return nil
	}
	targets, ok := l.targets(df, byName)
	if !ok {
		return nil
	}
	used := make([]bool, len(df.stages))
	var stack []int
	last := 0
	for _, t := range targets {
		if !used[t] {
			used[t] = true
			stack = append(stack, t)
		}
		last = max(last, t)
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for d := range df.stages[i].deps {
			if d >= 0 && d < len(used) && !used[d] {
				used[d] = true
				stack = append(stack, d)
			}
		}
		if df.stages[i].depsUnknown {
			// It may use any earlier stage.
			for d := 0; d < i; d++ {
				if !used[d] {
					used[d] = true
					stack = append(stack, d)
				}
			}
		}
	}
	skips := l.exec.SkipsUnusedStages()
	if l.o.SkipUnusedStages != nil {
		skips = *l.o.SkipUnusedStages
	}
	var names []string
	for _, t := range targets {
		names = append(names, df.stages[t].label())
	}
	targetText := "the target " + names[0]
	if len(names) > 1 {
		targetText = "the targets " + strings.Join(names, ", ")
	}
	for i := 0; i < last; i++ {
		if used[i] {
			continue
		}
		s := df.stages[i]
		line, col := l.at(s.node, "")
		msg := fmt.Sprintf("%s is not used by %s", s.label(), targetText)
		hint := "remove the stage if nothing else builds it"
		switch {
		case !skips && l.o.SkipUnusedStages != nil:
			msg += ", yet --skip-unused-stages=false makes the executor build every stage before the target"
			hint = "remove the stage, or drop --skip-unused-stages=false"
		case !skips:
			msg += ", yet upstream kaniko builds every stage before the target"
			hint = "remove the stage, or pass the executor flag --skip-unused-stages"
		}
		l.add(finding{Finding: Finding{ID: RuleUnusedStage, Severity: Info, Line: line, Column: col,
			Message: msg, Hint: hint}, anchor: s.node.StartLine})
	}
	built := make([]bool, len(df.stages))
	for i := 0; i <= last; i++ {
		built[i] = used[i] || !skips
	}
	return built
}

// targets resolves --target to stage indexes, the image's stage first, and
// reports names that are no stage. Without --target the last stage is
// built. The fork takes a comma-separated list (--target a,b): it builds
// every stage named and pushes the first; upstream takes one stage and
// stops on a list ("a,b is not a valid target build stage").
func (l *linter) targets(df *dockerfile, byName map[string]int) ([]int, bool) {
	if l.o.Target == "" {
		return []int{len(df.stages) - 1}, true
	}
	list := []string{l.o.Target}
	if strings.Contains(l.o.Target, ",") {
		if l.exec.Flavor != Fork {
			l.add(finding{Finding: Finding{ID: RuleTarget, Severity: Error,
				Message: fmt.Sprintf("--target %s lists several stages, but upstream kaniko builds one: it stops with '%s is not a valid target build stage'", l.o.Target, l.o.Target),
				Hint:    "pass one stage name, or use the fork, which builds every stage of a comma-separated --target and pushes the first: --executor-image " + ForkImage}})
			return nil, false
		}
		list = nil
		for _, t := range strings.Split(l.o.Target, ",") {
			if t = strings.TrimSpace(t); t != "" {
				list = append(list, t)
			}
		}
		if len(list) == 0 {
			return []int{len(df.stages) - 1}, true
		}
	}
	var bad []string
	var idx []int
	for _, t := range list {
		i, ok := byName[strings.ToLower(t)]
		if !ok {
			bad = append(bad, t)
			continue
		}
		idx = append(idx, i)
	}
	if len(bad) == 0 {
		return idx, true
	}
	var names []string
	for _, s := range df.stages {
		if s.name != "" && len(names) < 8 {
			names = append(names, s.name)
		}
	}
	hint := "name stages with FROM ... AS name to build one of them"
	if len(names) > 0 {
		hint = "use one of the stage names: " + strings.Join(names, ", ")
	}
	for _, t := range bad {
		msg := fmt.Sprintf("--target %s names no stage in the Dockerfile", t)
		if len(list) > 1 {
			msg = fmt.Sprintf("--target %s: %s names no stage in the Dockerfile", l.o.Target, t)
		}
		l.add(finding{Finding: Finding{ID: RuleTarget, Severity: Error, Message: msg, Hint: hint}})
	}
	return nil, false
}
