package providers

import (
	"io"
	"strings"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

func portsIdentity(id string) ports.Identity {
	return ports.Identity{Subject: domain.UserID(id), Name: id, Email: id + "@example.org"}
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
