// Package asg implements ports.ScaleIn on EC2 Auto Scaling: scale-in
// protection through SetInstanceProtection, the termination lifecycle
// hook read from the instance metadata (autoscaling/target-lifecycle-state)
// and completed with CompleteLifecycleAction.
package asg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/gasproject/gas/ports"
)

// API is the part of the Auto Scaling client the instance uses.
type API interface {
	SetInstanceProtection(ctx context.Context, in *autoscaling.SetInstanceProtectionInput, opts ...func(*autoscaling.Options)) (*autoscaling.SetInstanceProtectionOutput, error)
	CompleteLifecycleAction(ctx context.Context, in *autoscaling.CompleteLifecycleActionInput, opts ...func(*autoscaling.Options)) (*autoscaling.CompleteLifecycleActionOutput, error)
}

// Metadata is the part of the instance metadata client it uses.
type Metadata interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, opts ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// TargetStatePath is the instance metadata path of the lifecycle state
// the group is moving the instance to: "Terminated" once it has decided
// to terminate it.
const TargetStatePath = "autoscaling/target-lifecycle-state"

// Instance is one instance of one group.
type Instance struct {
	api      API
	metadata Metadata
	group    string
	id       string
	hook     string
}

var _ ports.ScaleIn = (*Instance)(nil)

// New is instance id of group, whose termination hook is hook.
func New(api API, metadata Metadata, group, id, hook string) (*Instance, error) {
	if api == nil || metadata == nil || group == "" || id == "" || hook == "" {
		return nil, errors.New("autoscaling instance: client, metadata, group, instance id and hook are required")
	}
	return &Instance{api: api, metadata: metadata, group: group, id: id, hook: hook}, nil
}

// Protect implements ports.ScaleIn.
func (i *Instance) Protect(ctx context.Context, on bool) error {
	if _, err := i.api.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{
		AutoScalingGroupName: aws.String(i.group), InstanceIds: []string{i.id}, ProtectedFromScaleIn: aws.Bool(on),
	}); err != nil {
		return fmt.Errorf("scale-in protection %v of %s in %s: %w", on, i.id, i.group, err)
	}
	return nil
}

// Terminating implements ports.ScaleIn. An instance whose metadata has
// no target state (not launched by a group) is not terminating.
func (i *Instance) Terminating(ctx context.Context) (bool, error) {
	out, err := i.metadata.GetMetadata(ctx, &imds.GetMetadataInput{Path: TargetStatePath})
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == 404 {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lifecycle state of %s: %w", i.id, err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, 256))
	if err != nil {
		return false, fmt.Errorf("lifecycle state of %s: %w", i.id, err)
	}
	return strings.TrimSpace(string(b)) == "Terminated", nil
}

// Proceed implements ports.ScaleIn: the hook's action continues.
func (i *Instance) Proceed(ctx context.Context) error {
	if _, err := i.api.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String(i.group), LifecycleHookName: aws.String(i.hook), InstanceId: aws.String(i.id),
		LifecycleActionResult: aws.String("CONTINUE"),
	}); err != nil {
		return fmt.Errorf("complete lifecycle action %s of %s in %s: %w", i.hook, i.id, i.group, err)
	}
	return nil
}

// DefaultHook is the termination lifecycle hook GAS's template gives the
// annotators' group.
const DefaultHook = "gas-drain"
