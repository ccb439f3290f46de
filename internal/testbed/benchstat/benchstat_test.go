package benchstat

import "testing"

func TestPlainLine(t *testing.T) {
	line := `docker run --rm --log-driver none --network host --label 'io.kanikorun.context=/tmp/a b' --security-opt no-new-privileges --mount type=bind,source=/tmp/ov,target=/workspace,readonly img --context=dir:///workspace/ --no-push`
	for _, c := range []struct {
		keepNetwork bool
		want        string
	}{
		{false, `docker run --rm --mount type=bind,source=/tmp/ov,target=/workspace,readonly img --context=dir:///workspace/ --no-push`},
		{true, `docker run --rm --network host --mount type=bind,source=/tmp/ov,target=/workspace,readonly img --context=dir:///workspace/ --no-push`},
	} {
		if got := PlainLine(line, c.keepNetwork); got != c.want {
			t.Errorf("PlainLine(keepNetwork=%v):\n got %s\nwant %s", c.keepNetwork, got, c.want)
		}
	}
}
