package mail_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awsfault"
	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/mail"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/contract"
)

// sesSent reads the raw messages moto's SES recorded from sender, via
// /moto-api/data.json. That endpoint serialises every tracked moto object
// and fails with a 500 while a deleted S3 object awaits garbage
// collection, so it is retried briefly.
func sesSent(t *testing.T, endpoint, sender string) []ports.Email {
	t.Helper()
	var data struct {
		SES struct {
			RawMessage []struct {
				Source  string `json:"source"`
				RawData string `json:"raw_data"`
			} `json:"RawMessage"`
		} `json:"ses"`
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/moto-api/data.json")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, &data); err != nil {
				t.Fatalf("moto data.json: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto data.json answered %d", resp.StatusCode)
		}
		time.Sleep(250 * time.Millisecond)
	}
	var out []ports.Email
	for _, m := range data.SES.RawMessage {
		if m.Source != sender {
			continue
		}
		e, err := mail.ParseMessage([]byte(m.RawData))
		if err != nil {
			t.Fatalf("parse sent message: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// sesMailer sends from a fresh sender identity, verified first as SES
// (and moto) require.
func sesMailer(t *testing.T) (*mail.SES, string, *awstest.Env) {
	t.Helper()
	env := awstest.New(t)
	sender := "gas-" + awstest.Unique() + "@example.org"
	if _, err := env.Clients.SES.CreateEmailIdentity(awstest.Ctx(t), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
		t.Fatal(err)
	}
	n, err := mail.NewSES(env.Clients.SES, sender)
	if err != nil {
		t.Fatal(err)
	}
	return n, sender, env
}

func TestSESContract(t *testing.T) {
	awstest.Endpoint(t)
	contract.TestMailer(t, func(t *testing.T) contract.MailerFixture {
		n, sender, env := sesMailer(t)
		return contract.MailerFixture{Mailer: n, Sent: func(t *testing.T) []ports.Email { return sesSent(t, env.Config.Endpoint, sender) }}
	})
}

func TestSESRefusesUnverifiedSender(t *testing.T) {
	env := awstest.New(t)
	n, err := mail.NewSES(env.Clients.SES, "unverified-"+awstest.Unique()+"@example.org")
	if err != nil {
		t.Fatal(err)
	}
	err = n.Send(awstest.Ctx(t), ports.Email{To: "a@example.org", Subject: "s", Text: "t"})
	if !errors.Is(err, ports.ErrRejected) || !strings.Contains(err.Error(), "MessageRejected") {
		t.Fatalf("unverified sender: %v, want SES MessageRejected as ports.ErrRejected", err)
	}
}

// TestSESRejectedRecipient: SES refuses an unverified recipient while the
// account is in the sandbox with 400 MessageRejected. moto's SES accepts
// every recipient, so the refusal is injected below the SDK; the adapter
// must report it as ports.RejectedError with SES's words, and a throttled
// send (which a retry fixes) must not be.
func TestSESRejectedRecipient(t *testing.T) {
	faults := &awsfault.Injector{}
	env := awstest.New(t, awsconfig.WithHTTPClient(awsconfig.HTTPClientWith(faults)))
	sender := "gas-" + awstest.Unique() + "@example.org"
	if _, err := env.Clients.SES.CreateEmailIdentity(awstest.Ctx(t), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
		t.Fatal(err)
	}
	n, err := mail.NewSES(env.Clients.SES, sender)
	if err != nil {
		t.Fatal(err)
	}
	const why = "Email address is not verified. The following identities failed the check in region US-EAST-1: nobody@example.org"
	rejectRecipients(faults, "nobody@example.org", why)
	err = n.Send(awstest.Ctx(t), ports.Email{To: "nobody@example.org", Subject: "s", Text: "t"})
	var re *ports.RejectedError
	if !errors.As(err, &re) || re.Reason != why {
		t.Fatalf("rejected recipient: %v, want ports.RejectedError %q", err, why)
	}
	faults.Respond(awsfault.Path("/outbound-emails"), 5, 429, "application/json",
		map[string]string{"X-Amzn-Errortype": "TooManyRequestsException"}, `{"message":"Too many requests"}`)
	if err := n.Send(awstest.Ctx(t), ports.Email{To: "someone@example.org", Subject: "s", Text: "t"}); err == nil || errors.Is(err, ports.ErrRejected) {
		t.Fatalf("throttled send: %v, want a retryable error", err)
	}
}

// rejectRecipients makes SES (through faults) refuse mail to recipient with
// MessageRejected and reason, as SES does in its sandbox.
func rejectRecipients(faults *awsfault.Injector, recipient, reason string) {
	faults.Respond(awsfault.All(awsfault.Path("/outbound-emails"), awsfault.BodyContains(recipient)), -1, 400, "application/json",
		map[string]string{"X-Amzn-Errortype": "MessageRejected"}, `{"message":`+strconv.Quote(reason)+`}`)
}

// smtpServer is a minimal SMTP relay on loopback that records messages.
type smtpServer struct {
	addr string
	mu   sync.Mutex
	msgs [][]byte
}

func newSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 localhost ESMTP test")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
		case "EHLO", "HELO":
			tp.PrintfLine("250-localhost")
			tp.PrintfLine("250 8BITMIME")
		case "MAIL", "RCPT", "RSET", "NOOP":
			tp.PrintfLine("250 OK")
		case "DATA":
			tp.PrintfLine("354 go ahead")
			b, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, b)
			s.mu.Unlock()
			tp.PrintfLine("250 queued")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 unknown")
		}
	}
}

func (s *smtpServer) sent(t *testing.T) []ports.Email {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ports.Email
	for _, m := range s.msgs {
		e, err := mail.ParseMessage(m)
		if err != nil {
			t.Fatalf("parse relayed message: %v", err)
		}
		out = append(out, e)
	}
	return out
}

func TestSMTPContract(t *testing.T) {
	contract.TestMailer(t, func(t *testing.T) contract.MailerFixture {
		srv := newSMTPServer(t)
		n, err := mail.NewSMTP(srv.addr, "GAS <gas@example.org>", "", "")
		if err != nil {
			t.Fatal(err)
		}
		return contract.MailerFixture{Mailer: n, Sent: srv.sent}
	})
}

func TestSMTPUnreachableRelay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	n, err := mail.NewSMTP(addr, "gas@example.org", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Send(t.Context(), ports.Email{To: "a@example.org", Subject: "s", Text: "t"}); err == nil {
		t.Fatal("sending to a closed port succeeded")
	}
}
