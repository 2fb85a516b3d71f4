// Package email renders GAS's notices as e-mails: the wording, the HTML
// and the links back to the site. The domain decides what to tell a user
// (domain.Notice); this adapter decides how it reads, so presentation
// stays out of the domain and every mailer (SES, SMTP, the local outbox)
// sends the same message.
package email

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Composer is the ports.Composer of every deployment.
type Composer struct{ base string }

var _ ports.Composer = Composer{}

// NewComposer links e-mails to the site at base, which must be absolute
// because e-mails are opened outside the site.
func NewComposer(base string) (Composer, error) {
	if u, err := url.Parse(base); err != nil || u.Scheme == "" || u.Host == "" {
		return Composer{}, fmt.Errorf("e-mail composer needs an absolute base URL, got %q", base)
	}
	return Composer{base: strings.TrimRight(base, "/")}, nil
}

// JobURL is the job's page, linked from e-mails.
func JobURL(base string, id domain.JobID) string {
	return strings.TrimRight(base, "/") + "/jobs/" + url.PathEscape(string(id))
}

type data struct {
	domain.Notice
	Link, Completed, ArchiveAt, TsTv, KnownPct string
	// Suspect says the file may not fit the reference; Odd counts the
	// records that say so.
	Suspect bool
	Odd     int64
}

// Compose renders n as a plain-text and HTML e-mail.
func (c Composer) Compose(n domain.Notice) (ports.Email, error) {
	d := data{Notice: n, Link: JobURL(c.base, n.Job), Completed: n.CompletedAt.Format(time.RFC1123)}
	if !n.ArchiveAt.IsZero() {
		d.ArchiveAt = n.ArchiveAt.Format(time.RFC1123)
	}
	d.TsTv = fmt.Sprintf("%.2f", n.Counts.TsTv())
	d.KnownPct = fmt.Sprintf("%.1f%%", 100*n.Counts.KnownRate())
	d.Suspect = n.Counts.SuspectReference()
	d.Odd = n.Counts.RefMismatches + n.Counts.UnknownChromosome + n.Counts.PastChromosomeEnd
	subject := fmt.Sprintf("GAS: annotation of %s completed", n.Input)
	if n.Failed {
		subject = fmt.Sprintf("GAS: annotation of %s failed", n.Input)
	}
	var text, html bytes.Buffer
	if err := textEmail.Execute(&text, d); err != nil {
		return ports.Email{}, fmt.Errorf("render e-mail about job %s: %w", n.Job, err)
	}
	if err := htmlEmail.Execute(&html, d); err != nil {
		return ports.Email{}, fmt.Errorf("render e-mail about job %s: %w", n.Job, err)
	}
	return ports.Email{User: n.User, To: n.To, Subject: subject, Text: text.String(), HTML: html.String()}, nil
}

var textEmail = template.Must(template.New("text").Parse(`Hello{{if .Name}} {{.Name}}{{end}},

{{if .Failed}}Your GAS annotation of "{{.Input}}" failed.

Reason: {{.Reason}}
{{else}}Your GAS annotation of "{{.Input}}" completed at {{.Completed}}{{if .Reference}} against {{.Reference}}{{end}}.
{{if .Suspect}}
WARNING: this file may not match the reference (GRCh38 vs GRCh37?): {{.Odd}} of its {{.Counts.Records}} records have a REF the reference disagrees with, lie on a chromosome it lacks or past a chromosome's end. Check the file's assembly and re-run the job against the matching reference.
{{end}}{{with .Counts}}
Records: {{.Records}}; alleles annotated: {{.Variants}}; skipped lines: {{.Skipped}}
Known variants: {{$.KnownPct}}; Ts/Tv: {{$.TsTv}}
{{if .Top}}Most frequent consequences (rows: an allele on a transcript):
{{range .Top}}  {{.Label}}: {{.Count}}
{{end}}{{end}}{{end}}{{if .ArchiveAt}}
Free accounts can download results until {{.ArchiveAt}}; after that they move to cold storage.
Upgrade to premium to keep them available.
{{end}}{{end}}
View the job: {{.Link}}

-- GAS, the Genomics Annotation Service
`))

var htmlEmail = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html><body style="font-family: sans-serif">
<p>Hello{{if .Name}} {{.Name}}{{end}},</p>
{{if .Failed}}<p>Your GAS annotation of <b>{{.Input}}</b> failed.</p>
<p>Reason: {{.Reason}}</p>
{{else}}<p>Your GAS annotation of <b>{{.Input}}</b> completed at {{.Completed}}{{if .Reference}} against {{.Reference}}{{end}}.</p>
{{if .Suspect}}<p style="border: 2px solid #b00; padding: 0.5em"><b>This file may not match the reference (GRCh38 vs GRCh37?)</b>:
{{.Odd}} of its {{.Counts.Records}} records have a REF the reference disagrees with, lie on a chromosome it lacks or past a chromosome's end.
Check the file's assembly and re-run the job against the matching reference.</p>
{{end}}{{with .Counts}}<table>
<tr><td>Records</td><td>{{.Records}}</td></tr>
<tr><td>Alleles annotated</td><td>{{.Variants}}</td></tr>
<tr><td>Skipped lines</td><td>{{.Skipped}}</td></tr>
<tr><td>Known variants</td><td>{{$.KnownPct}}</td></tr>
<tr><td>Ts/Tv</td><td>{{$.TsTv}}</td></tr>
</table>
{{if .Top}}<p>Most frequent consequences (rows: an allele on a transcript):</p><ul>{{range .Top}}<li>{{.Label}}: {{.Count}}</li>{{end}}</ul>{{end}}{{end}}
{{if .ArchiveAt}}<p>Free accounts can download results until {{.ArchiveAt}}; after that they move to cold storage.
Upgrade to premium to keep them available.</p>{{end}}{{end}}
<p><a href="{{.Link}}">View the job</a></p>
<p>&mdash; GAS, the Genomics Annotation Service</p>
</body></html>
`))
