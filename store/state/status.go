package state

// Status is the state of a run or a step (DESIGN.md §5).
type Status string

// Run and step statuses.
const (
	NotStarted  Status = "NotStarted"
	Queued      Status = "Queued"
	Running     Status = "Running"
	Failed      Status = "Failed"
	Finished    Status = "Finished"
	Canceled    Status = "Canceled"
	Interrupted Status = "Interrupted"
	Reused      Status = "Reused" // steps only
)

// Terminal reports whether no further change is expected.
func (s Status) Terminal() bool {
	switch s {
	case Failed, Finished, Canceled, Interrupted, Reused:
		return true
	}
	return false
}
