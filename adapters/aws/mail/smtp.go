package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/gasproject/gas/ports"
)

// SMTP sends through an SMTP relay (STARTTLS when offered, PLAIN auth when
// configured), for deployments without SES.
type SMTP struct {
	addr, host string
	from       *mail.Address
	auth       smtp.Auth
	now        func() time.Time
}

var _ ports.Mailer = (*SMTP)(nil)

// NewSMTP sends as from through the relay at addr (host:port). With a
// username, it authenticates with PLAIN, which net/smtp only allows over
// TLS or to localhost.
func NewSMTP(addr, from, username, password string) (*SMTP, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("smtp notifier: relay %q: %w", addr, err)
	}
	f, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("smtp notifier: sender %q: %w", from, err)
	}
	s := &SMTP{addr: addr, host: host, from: f, now: time.Now}
	if username != "" {
		s.auth = smtp.PlainAuth("", username, password, host)
	}
	return s, nil
}

// Send sends e as a multipart/alternative UTF-8 message.
func (s *SMTP) Send(ctx context.Context, e ports.Email) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("notify %s: %w", e.To, err)
	}
	to, _ := mail.ParseAddress(e.To) // validated above
	msg, err := Compose(s.from, to, e, s.now())
	if err != nil {
		return fmt.Errorf("notify %s: %w", e.To, err)
	}
	if err := s.send(ctx, to.Address, msg); err != nil {
		return fmt.Errorf("notify %s via SMTP %s: %w", e.To, s.addr, err)
	}
	return nil
}

func (s *SMTP) send(ctx context.Context, to string, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.auth != nil {
		if err := c.Auth(s.auth); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return permanent(err)
	}
	w, err := c.Data()
	if err != nil {
		return permanent(err)
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return permanent(err)
	}
	return c.Quit()
}

// permanent turns a 5xx reply to the recipient or the message (550 no
// such user, 554 refused) into ports.RejectedError: the relay refused it
// for good. 4xx replies and network errors stay as they are, to be retried.
func permanent(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return fmt.Errorf("%w (%w)", &ports.RejectedError{Reason: fmt.Sprintf("%d %s", te.Code, te.Msg)}, err)
	}
	return err
}

// Compose renders e as a multipart/alternative UTF-8 MIME message (text
// and HTML parts, quoted-printable, RFC 2047 subject): the one wire format
// both notifiers send, so a relay's copy reads the same whichever sent it.
func Compose(from, to *mail.Address, e ports.Email, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	id := make([]byte, 12)
	_, _ = rand.Read(id) // crypto/rand.Read never fails
	var parts bytes.Buffer
	mw := multipart.NewWriter(&parts)
	for _, p := range []struct{ ctype, body string }{{"text/plain", e.Text}, {"text/html", e.HTML}} {
		if p.body == "" {
			continue
		}
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(p.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	h := []struct{ k, v string }{
		{"From", from.String()},
		{"To", to.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", e.Subject)},
		{"Date", now.UTC().Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id) + "@gas>"},
		{"MIME-Version", "1.0"},
		{"Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()})},
	}
	for _, kv := range h {
		fmt.Fprintf(&buf, "%s: %s\r\n", kv.k, kv.v)
	}
	buf.WriteString("\r\n")
	buf.Write(parts.Bytes())
	return buf.Bytes(), nil
}

// ParseMessage reads back a message this notifier composed (for tests and
// for diagnosing a relay's copy): recipient, subject, and the two bodies.
func ParseMessage(raw []byte) (ports.Email, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ports.Email{}, err
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return ports.Email{}, err
	}
	to, err := mail.ParseAddress(m.Header.Get("To"))
	if err != nil {
		return ports.Email{}, err
	}
	e := ports.Email{To: to.Address, Subject: subject}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return ports.Email{}, err
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return e, nil
			}
			return ports.Email{}, err
		}
		body, err := io.ReadAll(p) // multipart decodes quoted-printable itself
		if err != nil {
			return ports.Email{}, err
		}
		// MIME text travels with CRLF line breaks; GAS's bodies use LF.
		text := strings.ReplaceAll(string(body), "\r\n", "\n")
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			e.Text = text
		case "text/html":
			e.HTML = text
		}
	}
}
