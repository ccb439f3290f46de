package benchstat

import (
	"context"
	"errors"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// Teardowns follows the daemon's destroy events of the containers that
// carry a label. kanikorun returns at its container's exit and the daemon
// removes the container after; a bench that compares it with `docker run
// --rm` (which waits for the removal) must let that removal end before
// the next command runs, or the next command would pay for it.
type Teardowns struct {
	destroyed chan time.Time
	failed    chan error
	cancel    context.CancelFunc
}

// FollowTeardowns starts following the destroy events of the containers
// that carry every given label ("key=value"): kanikorun's managed label
// among them, so that the docker run lines' containers, which have
// kanikorun's other labels, are left out.
func FollowTeardowns(ctx context.Context, cli *client.Client, labels ...string) *Teardowns {
	ctx, cancel := context.WithCancel(ctx)
	f := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("event", string(events.ActionDestroy)),
	)
	for _, l := range labels {
		f.Add("label", l)
	}
	msgs, errc := cli.Events(ctx, events.ListOptions{Filters: f})
	t := &Teardowns{destroyed: make(chan time.Time, 64), failed: make(chan error, 1), cancel: cancel}
	go func() {
		for {
			select {
			case m := <-msgs:
				select {
				case t.destroyed <- time.Unix(0, m.TimeNano):
				case <-ctx.Done():
					return
				}
			case err := <-errc:
				if err == nil {
					err = errors.New("the daemon's event stream ended")
				}
				t.failed <- err
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return t
}

// Drain forgets the removals seen so far: those of commands that waited
// for them.
func (t *Teardowns) Drain() {
	for {
		select {
		case <-t.destroyed:
		default:
			return
		}
	}
}

// Next waits for the next removal and says how long after since it came.
func (t *Teardowns) Next(since time.Time, timeout time.Duration) (time.Duration, error) {
	select {
	case at := <-t.destroyed:
		return at.Sub(since), nil
	case err := <-t.failed:
		// Said once, and kept for the next call.
		t.failed <- err
		return 0, err
	case <-time.After(timeout):
		return 0, errors.New("no container removal seen")
	}
}

// Close stops following.
func (t *Teardowns) Close() { t.cancel() }
