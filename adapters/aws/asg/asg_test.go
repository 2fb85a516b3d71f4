package asg_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/gasproject/gas/adapters/aws/asg"
	"github.com/gasproject/gas/adapters/aws/awstest"
)

// group makes an autoscaling group of one instance on the test server
// and returns its name and the instance's id.
func group(t *testing.T, api *autoscaling.Client) (string, string) {
	t.Helper()
	ctx := awstest.Ctx(t)
	name := "g" + awstest.Unique()
	if _, err := api.CreateLaunchConfiguration(ctx, &autoscaling.CreateLaunchConfigurationInput{
		LaunchConfigurationName: aws.String(name), ImageId: aws.String("ami-12c6146b"), InstanceType: aws.String("t4g.small"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name), LaunchConfigurationName: aws.String(name),
		MinSize: aws.Int32(1), MaxSize: aws.Int32(2), AvailabilityZones: []string{"us-east-1a"},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := api.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil || len(out.AutoScalingGroups) != 1 || len(out.AutoScalingGroups[0].Instances) != 1 {
		t.Fatalf("group %s: %v %+v", name, err, out)
	}
	return name, aws.ToString(out.AutoScalingGroups[0].Instances[0].InstanceId)
}

func protected(t *testing.T, api *autoscaling.Client, id string) bool {
	t.Helper()
	out, err := api.DescribeAutoScalingInstances(awstest.Ctx(t), &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(out.AutoScalingInstances) != 1 {
		t.Fatalf("instance %s: %v", id, err)
	}
	return aws.ToBool(out.AutoScalingInstances[0].ProtectedFromScaleIn)
}

// TestProtectAgainstMoto sets and clears scale-in protection through the
// Auto Scaling API and reads it back.
func TestProtectAgainstMoto(t *testing.T) {
	env := awstest.New(t)
	api := autoscaling.NewFromConfig(env.Clients.SDK)
	name, id := group(t, api)
	in, err := asg.New(api, imds.New(imds.Options{}), name, id, asg.DefaultHook)
	if err != nil {
		t.Fatal(err)
	}
	ctx := awstest.Ctx(t)
	if protected(t, api, id) {
		t.Fatal("a new instance is protected")
	}
	if err := in.Protect(ctx, true); err != nil {
		t.Fatal(err)
	}
	if !protected(t, api, id) {
		t.Fatal("Protect(true) did not protect the instance")
	}
	if err := in.Protect(ctx, false); err != nil {
		t.Fatal(err)
	}
	if protected(t, api, id) {
		t.Fatal("Protect(false) left the instance protected")
	}
	missing, _ := asg.New(api, imds.New(imds.Options{}), name+"-gone", id, asg.DefaultHook)
	if err := missing.Protect(ctx, true); err == nil {
		t.Fatal("protecting in a group that does not exist succeeded")
	}
}

// metadata serves IMDSv2: a token, then the target lifecycle state.
func metadata(t *testing.T, state *string, mu *sync.Mutex) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "300")
			io.WriteString(w, "token")
		case r.Header.Get("X-Aws-Ec2-Metadata-Token") != "token":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/latest/meta-data/"+asg.TargetStatePath:
			mu.Lock()
			defer mu.Unlock()
			if *state == "" {
				http.NotFound(w, r)
				return
			}
			io.WriteString(w, *state)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestTerminatingReadsTheTargetLifecycleState follows the instance
// metadata: no state (not in a group), InService, then Terminated.
func TestTerminatingReadsTheTargetLifecycleState(t *testing.T) {
	var mu sync.Mutex
	state := ""
	srv := metadata(t, &state, &mu)
	in, err := asg.New(autoscaling.New(autoscaling.Options{Region: "us-east-1"}), imds.New(imds.Options{Endpoint: srv.URL}),
		"g", "i-1", asg.DefaultHook)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		state string
		want  bool
	}{{"", false}, {"InService", false}, {"Terminated", true}} {
		mu.Lock()
		state = c.state
		mu.Unlock()
		got, err := in.Terminating(t.Context())
		if err != nil || got != c.want {
			t.Fatalf("state %q: terminating %v, %v; want %v", c.state, got, err, c.want)
		}
	}
}

// TestProceedCompletesTheLifecycleAction checks the request that lets a
// termination go on. moto does not implement CompleteLifecycleAction, so
// a loopback server stands in for the Auto Scaling API and checks what
// it was asked.
func TestProceedCompletesTheLifecycleAction(t *testing.T) {
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got = r.PostForm
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<CompleteLifecycleActionResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><CompleteLifecycleActionResult/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CompleteLifecycleActionResponse>`)
	}))
	defer srv.Close()
	api := autoscaling.New(autoscaling.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.AnonymousCredentials{}})
	in, err := asg.New(api, imds.New(imds.Options{}), "gas-annotators", "i-0abc", asg.DefaultHook)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Proceed(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := url.Values{"Action": {"CompleteLifecycleAction"}, "AutoScalingGroupName": {"gas-annotators"}, "InstanceId": {"i-0abc"},
		"LifecycleHookName": {asg.DefaultHook}, "LifecycleActionResult": {"CONTINUE"}}
	for k, v := range want {
		if got.Get(k) != v[0] {
			t.Errorf("%s = %q, want %q (request %v)", k, got.Get(k), v[0], got)
		}
	}
}
