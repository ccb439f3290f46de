package tmpdir

// Abandon lets go of the directory's lock without removing it, as the
// death of its process does. It exists for tests of what a killed run
// leaves (kanikorun gc, the sweep); d is of no use afterwards.
func (d *Dir) Abandon() {
	if d.lock != nil {
		d.lock.Close()
		d.lock = nil
	}
	d.Path = ""
}
