package run

import (
	"errors"
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/remotefiles"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// mountView is how the program's files are served (--fs-view): nil for
// stops. Under "auto" a session the mount view cannot serve says why at
// -v 1 and stops; under "mount" it is an error naming the way out.
func mountView(cfg Config, files *remotefiles.Cache, hostname, domainname string) (*tracer.MountView, error) {
	if cfg.FSView == "stops" {
		return nil, nil
	}
	required := cfg.FSView == "mount"
	var v *tracer.MountView
	err := errors.New("a mount namespace needs root (CAP_SYS_ADMIN)")
	if os.Geteuid() == 0 {
		v, err = files.MountView(hostname, domainname)
	}
	if err != nil {
		if required {
			return nil, fmt.Errorf("--fs-view mount: %w; run with --fs-view stops (or auto)", err)
		}
		cfg.Logger.Info("files: every file call stops", zap.String("why", err.Error()))
		return nil, nil
	}
	v.Required = required
	return v, nil
}
