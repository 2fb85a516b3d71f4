package awsfault

import (
	"context"
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Call is one AWS API call as a Recorder saw it: the service and operation
// (the SDK's names, "DynamoDB" "GetItem") and the parameters that name the
// resources it touches, each under its path in the operation's input
// ("TableName", "TransactItems.Put.TableName", "RequestItems{}" for a map's
// keys). It is what an IAM policy must allow, so the deployment's
// policies can be checked against what the code really calls.
type Call struct {
	Service   string              `json:"service"`
	Operation string              `json:"operation"`
	Params    map[string][]string `json:"params,omitempty"`
}

// resourceFields are the input fields that name a resource.
var resourceFields = []string{
	"TableName", "IndexName", "QueueUrl", "QueueName", "TopicArn", "Bucket", "Key",
	"AutoScalingGroupName", "LifecycleHookName", "FromEmailAddress", "VaultName", "Name", "SecretId",
}

// Recorder writes one JSON line (a Call) for every AWS API call made by
// the SDK clients it is installed in, before the call is sent: presigned
// requests are recorded too, since they are signed with the caller's
// credentials and need the same permission. It records at the SDK's
// initialize step rather than in the HTTP transport because only there
// the operation's input, which names the resources, is whole; every
// protocol (JSON, query, REST-XML) encodes it differently on the wire.
type Recorder struct {
	mu sync.Mutex
	w  io.Writer
}

// NewRecorder records to w.
func NewRecorder(w io.Writer) *Recorder { return &Recorder{w: w} }

// APIOption installs the recorder in an SDK client's middleware stack
// (aws.Config.APIOptions).
func (r *Recorder) APIOption(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("gas-record-call",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			// The instance metadata client shares the stack but is no AWS
			// service: it has no service id and no permission to check.
			if svc := awsmiddleware.GetServiceID(ctx); svc != "" {
				r.record(Call{Service: svc, Operation: awsmiddleware.GetOperationName(ctx), Params: ResourceParams(in.Parameters)})
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

func (r *Recorder) record(c Call) {
	line, err := json.Marshal(c)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.w.Write(append(line, '\n'))
}

// ResourceParams collects the resource-naming fields of an operation input.
func ResourceParams(input any) map[string][]string {
	out := map[string][]string{}
	walk(reflect.ValueOf(input), "", 0, out)
	if len(out) == 0 {
		return nil
	}
	return out
}

func walk(v reflect.Value, path string, depth int, out map[string][]string) {
	if depth > 6 || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), path, depth+1, out)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			p := f.Name
			if path != "" {
				p = path + "." + f.Name
			}
			fv := v.Field(i)
			if s, ok := stringOf(fv); ok && slices.Contains(resourceFields, f.Name) {
				out[p] = append(out[p], s)
				continue
			}
			walk(fv, p, depth+1, out)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // bodies and blobs
		}
		for i := range v.Len() {
			walk(v.Index(i), path, depth+1, out)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String || path != "RequestItems" {
			return // attribute values, tags: no resources
		}
		for _, k := range v.MapKeys() {
			out[path+"{}"] = append(out[path+"{}"], k.String())
		}
		slices.Sort(out[path+"{}"])
	}
}

// stringOf is v's text when v is a string or a non-nil *string.
func stringOf(v reflect.Value) (string, bool) {
	switch {
	case v.Kind() == reflect.String:
		return v.String(), v.String() != ""
	case v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.String && !v.IsNil():
		return v.Elem().String(), true
	}
	return "", false
}

// ReadCalls parses the lines a Recorder wrote.
func ReadCalls(r io.Reader) ([]Call, error) {
	var out []Call
	dec := json.NewDecoder(r)
	for dec.More() {
		var c Call
		if err := dec.Decode(&c); err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}
