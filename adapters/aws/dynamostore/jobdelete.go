package dynamostore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Delete removes the job's item if its version is still version (one
// conditional DeleteItem). A failed condition is ErrNotFound when the item
// is gone (also when a retried request finds its own delete done) and
// ErrConflict when it changed.
func (s *JobStore) Delete(ctx context.Context, id domain.JobID, version int64) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       map[string]types.AttributeValue{aID: str(string(id))},
		ConditionExpression:       aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": aVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(version)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if _, gerr := s.Get(ctx, id); errors.Is(gerr, ports.ErrNotFound) {
			return fmt.Errorf("delete job %s: %w", id, ports.ErrNotFound)
		}
		return fmt.Errorf("delete job %s at version %d: %w", id, version, ports.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("delete job %s: %w", id, err)
	}
	return nil
}
