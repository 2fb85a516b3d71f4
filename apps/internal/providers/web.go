package providers

import (
	"github.com/google/wire"

	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/apps/internal/role"
	"github.com/gasproject/gas/domain/accounts"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// WebSet is the web application on the process's ports: its services and
// the server. The injector adds the web.Options (RoleWebOptions on AWS,
// local mode's own) and the identity provider.
var WebSet = wire.NewSet(WebServicesSet, WebServer)

// WebServer is the web application. It is ready while the jobs table and
// the annotate queue answer, and reports that queue's backlog (what users
// wait on) in /metrics.
func WebServer(rt *role.Runtime, js *jobs.Service, jm *jobs.Manager, acc *accounts.Service, objects ports.ObjectStore, tokens ports.TokenStore,
	sessions ports.SessionStore, clock ports.Clock, idp ports.IdentityProvider, store ports.JobStore, bus *message.Bus,
	o web.Options) (*web.Server, error) {
	annotate := bus.Queue(message.QueueAnnotate)
	rt.Metrics.WatchQueue(message.QueueAnnotate, annotate)
	return web.New(web.Deps{
		Jobs: js, Manage: jm, Accounts: acc, Objects: objects, Tokens: tokens, Sessions: sessions, Clock: clock, Identity: idp,
		Metrics: rt.Metrics,
		Ready:   rt.Ready(jobsReachable(store), queuesReachable(annotate)),
	}, o)
}

// RoleWebOptions are the web role's: uploads go straight to S3 through a
// presigned POST (the jobs service re-checks the stored size), billing
// takes no card (no payment adapter exists), so plans are the operators'
// by default (GAS_UPGRADE_POLICY=admin, GAS_ADMINS).
func RoleWebOptions(rt *role.Runtime, s Settings) web.Options {
	return web.Options{
		SessionKey: rt.Config.Web.SessionKey, BaseURL: s.BaseURL, LocalBilling: true, InputPrefix: s.InputPrefix,
		Reference: first(rt.Config.Web.References), Logger: rt.Log, MetricsToken: rt.Config.Web.MetricsToken,
		Admins: rt.Config.Web.Admins,
	}
}

// WebRoleApp is the web role: the web application, which serves its own
// /healthz and /readyz, and /metrics to a scraper with GAS_METRICS_TOKEN
// (or on GAS_METRICS_ADDR, apart from the site).
func WebRoleApp(srv *web.Server) *role.App { return &role.App{Handler: srv} }

// first is the first of names, "" when there are none.
func first(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return names[0]
}
