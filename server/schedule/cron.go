package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron reads a standard five-field cron spec ("30 2 * * 1-5") or a descriptor ("@daily",
// "@every 1h30m") evaluated in the IANA time zone tz ("" is UTC). Time zone prefixes inside the
// spec (CRON_TZ=, TZ=) are refused: the zone is its own field.
func ParseCron(spec, tz string) (cron.Schedule, error) {
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, fmt.Errorf("%w: empty cron spec", ErrInvalid)
	}
	if len(s) > 200 {
		return nil, fmt.Errorf("%w: cron spec longer than 200 characters", ErrInvalid)
	}
	if strings.HasPrefix(s, "CRON_TZ=") || strings.HasPrefix(s, "TZ=") {
		return nil, fmt.Errorf("%w: cron spec %q: give the time zone in its own field", ErrInvalid, spec)
	}
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || strings.ContainsAny(tz, " \t") {
			return nil, fmt.Errorf("%w: time zone %q: not an IANA zone name", ErrInvalid, tz)
		}
		loc = l
	}
	sched, err := parseSafe(s)
	if err != nil {
		return nil, fmt.Errorf("%w: cron spec %q: %v", ErrInvalid, spec, err)
	}
	switch c := sched.(type) {
	case *cron.SpecSchedule:
		c.Location = loc
	case cron.ConstantDelaySchedule:
		if c.Delay < time.Minute {
			return nil, fmt.Errorf("%w: cron spec %q: @every needs at least 1m", ErrInvalid, spec)
		}
	}
	return sched, nil
}

func parseSafe(s string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return cronParser.Parse(s)
}
