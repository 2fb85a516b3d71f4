package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	sdkconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// NotRetried lists error codes the SDK would retry (they come with HTTP 503)
// but that are answers, not outages: retrying them only delays the caller's
// fallback. GlacierExpeditedRetrievalNotAvailable means "use Standard";
// InsufficientCapacityException is the vault equivalent.
var NotRetried = []string{"GlacierExpeditedRetrievalNotAvailable", "InsufficientCapacityException"}

// Option adjusts how SDK clients are built; tests and test hooks use it to
// inject an HTTP transport (fault injection).
type Option func(*loadOptions)

type loadOptions struct {
	httpClient aws.HTTPClient
	apiOptions []func(*middleware.Stack) error
}

// WithHTTPClient sends every request through c, e.g. an http.Client whose
// RoundTripper injects an AWS error moto cannot produce.
func WithHTTPClient(c aws.HTTPClient) Option {
	return func(o *loadOptions) { o.httpClient = c }
}

// WithAPIOptions adds middleware to every client, e.g. the call recorder
// (awsfault.Recorder) the IAM policy test reads.
func WithAPIOptions(fns ...func(*middleware.Stack) error) Option {
	return func(o *loadOptions) { o.apiOptions = append(o.apiOptions, fns...) }
}

// Load builds the SDK configuration: region, endpoint override, retryer with
// exponential backoff and full jitter (no client-side retry quota, so a
// throttling storm delays work instead of failing it), and credentials.
// With an endpoint override and no AWS_ACCESS_KEY_ID in the environment it
// uses dummy static credentials, which is what moto expects, instead of
// probing instance metadata for seconds.
func Load(ctx context.Context, c Config, opts ...Option) (aws.Config, error) {
	if err := c.Validate(); err != nil {
		return aws.Config{}, err
	}
	var lo loadOptions
	for _, o := range opts {
		o(&lo)
	}
	load := []func(*sdkconfig.LoadOptions) error{
		sdkconfig.WithRegion(c.Region),
		sdkconfig.WithRetryer(func() aws.Retryer { return NewRetryer(c.MaxAttempts, c.MaxBackoff) }),
	}
	if c.Endpoint != "" {
		load = append(load, sdkconfig.WithBaseEndpoint(c.Endpoint))
	}
	if c.Endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		load = append(load, sdkconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	cfg, err := sdkconfig.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS SDK configuration: %w", err)
	}
	if lo.httpClient != nil {
		// Set after loading: the loader refuses a plain *http.Client when
		// AWS_CA_BUNDLE is set, and an injected client owns its transport.
		cfg.HTTPClient = lo.httpClient
	}
	cfg.APIOptions = append(cfg.APIOptions, lo.apiOptions...)
	return cfg, nil
}

// NewRetryer is the SDK standard retryer (throttling, 5xx, transient network
// errors; exponential backoff with full jitter) with GAS's limits, without the
// client-side retry quota, and never retrying the NotRetried codes.
func NewRetryer(maxAttempts int, maxBackoff time.Duration) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.MaxBackoff = maxBackoff
		o.Backoff = retry.NewExponentialJitterBackoff(maxBackoff)
		o.RateLimiter = ratelimit.None
		o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(notRetried)}, o.Retryables...)
	})
}

func notRetried(err error) aws.Ternary {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		for _, code := range NotRetried {
			if ae.ErrorCode() == code {
				return aws.FalseTernary
			}
		}
	}
	return aws.UnknownTernary
}

// Clients are the SDK clients of every service GAS uses, built from one
// configuration so they share credentials, retryer and transport.
type Clients struct {
	SDK      aws.Config
	S3       *s3.Client
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
	SNS      *sns.Client
	Glacier  *glacier.Client
	SES      *sesv2.Client
}

// NewClients builds the clients for c.
func NewClients(ctx context.Context, c Config, opts ...Option) (*Clients, error) {
	sdk, err := Load(ctx, c, opts...)
	if err != nil {
		return nil, err
	}
	return &Clients{
		SDK: sdk,
		S3: s3.NewFromConfig(sdk, func(o *s3.Options) {
			o.UsePathStyle = c.PathStyle
			// Objects without an S3 checksum (browser uploads, ranges) are
			// normal here and GAS verifies its own SHA-256: do not log
			// every unvalidated response.
			o.DisableLogOutputChecksumValidationSkipped = true
		}),
		DynamoDB: dynamodb.NewFromConfig(sdk, func(o *dynamodb.Options) {
			// DynamoDB-compatible servers behind an endpoint override (moto,
			// DynamoDB Local) send no x-amz-crc32 header, and the SDK then
			// validates every body against 0 (aws-sdk-go-v2 issue 3545):
			// each Close fails and poisons the connection, and under load an
			// applied conditional write can lose its answer and be retried
			// into a false conflict. Real DynamoDB keeps the validation.
			o.DisableValidateResponseChecksum = c.Endpoint != ""
		}),
		SQS:     sqs.NewFromConfig(sdk),
		SNS:     sns.NewFromConfig(sdk),
		Glacier: glacier.NewFromConfig(sdk),
		SES:     sesv2.NewFromConfig(sdk),
	}, nil
}

// HTTPClientWith wraps a RoundTripper into the client type Load accepts.
func HTTPClientWith(rt http.RoundTripper) *http.Client {
	return &http.Client{Transport: rt}
}
