package stack

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Data names the buckets and tables a stack retains when it is deleted,
// from its outputs.
func Data(outputs map[string]string) (buckets, tables []string) {
	for _, v := range []string{"GAS_INPUTS_BUCKET", "GAS_RESULTS_BUCKET", "GAS_ARCHIVE_BUCKET"} {
		if name := outputs[OutputOf(v)]; name != "" {
			buckets = append(buckets, name)
		}
	}
	for _, v := range []string{"GAS_JOBS_TABLE", "GAS_USERS_TABLE", "GAS_TOKENS_TABLE"} {
		if name := outputs[OutputOf(v)]; name != "" {
			tables = append(tables, name)
		}
	}
	return buckets, tables
}

// DeleteData deletes buckets (every object version first) and tables:
// what gas aws destroy --delete-data does after the stack is gone.
func (d *Deployer) DeleteData(ctx context.Context, db *dynamodb.Client, buckets, tables []string) error {
	for _, b := range buckets {
		if err := d.emptyBucket(ctx, b); err != nil {
			return err
		}
		_, err := d.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
		var nf *s3types.NoSuchBucket
		if err != nil && !errors.As(err, &nf) {
			return fmt.Errorf("delete bucket %s: %w", b, err)
		}
		d.printf("deleted bucket %s", b)
	}
	for _, t := range tables {
		_, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(t)})
		var nf *ddbtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			return fmt.Errorf("delete table %s: %w", t, err)
		}
		d.printf("deleted table %s", t)
	}
	return nil
}

func (d *Deployer) emptyBucket(ctx context.Context, bucket string) error {
	p := s3.NewListObjectVersionsPaginator(d.S3, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		var nf *s3types.NoSuchBucket
		if errors.As(err, &nf) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", bucket, err)
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) == 0 {
			continue
		}
		if _, err := d.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
			Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("empty %s: %w", bucket, err)
		}
	}
	return nil
}
