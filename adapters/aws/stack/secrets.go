package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Secrets keeps the web role's secrets where its instances read them at
// boot (SecretName), so they never appear in the template, its
// parameters or the stack's events.
type Secrets struct {
	SSM            *ssm.Client
	SecretsManager *secretsmanager.Client
}

// ErrMissingSecret is returned when a secret is neither given nor stored.
var ErrMissingSecret = errors.New("secret missing")

// Ensure stores each given secret (values by SecretOIDCClient,
// SecretSessionKey) and checks the others exist; a session key that
// does not exist yet is generated (48 random bytes). It returns what it
// stored.
func (s Secrets) Ensure(ctx context.Context, store, prefix string, values map[string]string) ([]string, error) {
	var stored []string
	for _, secret := range []string{SecretOIDCClient, SecretSessionKey} {
		name := SecretName(store, prefix, secret)
		v := values[secret]
		if v == "" {
			ok, err := s.exists(ctx, store, name)
			if err != nil {
				return stored, err
			}
			if ok {
				continue
			}
			if secret != SecretSessionKey {
				return stored, fmt.Errorf("%w: %s is not stored yet; give it once (gas aws deploy --oidc-client-secret or GAS_OIDC_CLIENT_SECRET)",
					ErrMissingSecret, name)
			}
			b := make([]byte, 48)
			_, _ = rand.Read(b)
			v = base64.RawURLEncoding.EncodeToString(b)
		}
		if err := s.put(ctx, store, name, v); err != nil {
			return stored, err
		}
		stored = append(stored, name)
	}
	return stored, nil
}

func (s Secrets) exists(ctx context.Context, store, name string) (bool, error) {
	if store == SecretStoreSecretsManager {
		_, err := s.SecretsManager.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("look up secret %s: %w", name, err)
		}
		return true, nil
	}
	_, err := s.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	var nf *ssmtypes.ParameterNotFound
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up parameter %s: %w", name, err)
	}
	return true, nil
}

func (s Secrets) put(ctx context.Context, store, name, value string) error {
	if store == SecretStoreSecretsManager {
		_, err := s.SecretsManager.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
			SecretString: aws.String(value)})
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			_, err = s.SecretsManager.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name),
				SecretString: aws.String(value), Description: aws.String("GAS web role secret (gas aws deploy)")})
		}
		if err != nil {
			return fmt.Errorf("store secret %s: %w", name, err)
		}
		return nil
	}
	if _, err := s.SSM.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value),
		Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true),
		Description: aws.String("GAS web role secret (gas aws deploy)")}); err != nil {
		return fmt.Errorf("store parameter %s: %w", name, err)
	}
	return nil
}
