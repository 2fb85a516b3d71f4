package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/gasproject/gas/apps/internal/scalesim"
	"github.com/gasproject/gas/apps/internal/svgplot"
)

func init() {
	commands["simulate"] = command{summary: "simulate the autoscaled farms under a load (scaling) or calibrate job times (calibrate)", subs: map[string]command{
		"scaling": {summary: "run a discrete-event simulation of a farm under a scenario, once per policy, with the same arrivals for each",
			usage: "simulate scaling --scenario NAME [--policy seed,target-tracking] [--seed N]\n" +
				"                 [--per-variant DUR --per-job DUR] [--json] [--plot FILE.svg]",
			about: "Scenarios: " + strings.Join(scalesim.Scenarios(), ", ") + ".\nPolicies: " + strings.Join(scalesim.Policies(), ", ") + ". See docs/scaling.md.",
			run:   func(_ context.Context, args []string) error { return runSimulateScaling(args, os.Stdout) }},
		"calibrate": {summary: "time the real engine on the synthetic reference and print the per-variant and per-job costs",
			usage: "simulate calibrate [--workers N] [--repeat N] [--json]",
			about: "Pass the figures back to gas simulate scaling as --per-variant and --per-job.",
			run:   func(ctx context.Context, args []string) error { return runCalibrate(ctx, args, os.Stdout) }},
	}}
}

// simulateFlags is gas simulate scaling's command line.
type simulateFlags struct {
	scenario, plot string
	policies       []string
	seed           uint64
	json           bool
	cal            scalesim.Calibration
}

func parseSimulate(args []string) (simulateFlags, error) {
	fs := flag.NewFlagSet("simulate scaling", flag.ContinueOnError)
	var f simulateFlags
	def := scalesim.DefaultCalibration
	fs.StringVar(&f.scenario, "scenario", "", "scenario `NAME`")
	policies := fs.String("policy", "seed,target-tracking", "policies to compare, a comma-separated `LIST`")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed: the same seed gives the same run")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per policy, in an array")
	fs.StringVar(&f.plot, "plot", "", "write an SVG of instances, load and delay over time to `FILE`")
	fs.DurationVar(&f.cal.PerVariant, "per-variant", def.PerVariant, "annotation time per variant (gas simulate calibrate)")
	fs.DurationVar(&f.cal.PerJob, "per-job", def.PerJob, "annotation time per job besides its variants")
	fs.Float64Var(&f.cal.Jitter, "jitter", def.Jitter, "coefficient of variation of a job's time")
	pos, err := parseInterspersed(fs, args)
	switch {
	case err != nil:
		return f, err
	case len(pos) > 0:
		return f, fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	case f.scenario == "":
		return f, fmt.Errorf("%w: --scenario is required (one of %s)", errUsage, strings.Join(scalesim.Scenarios(), ", "))
	}
	f.policies = strings.Split(*policies, ",")
	return f, nil
}

func runSimulateScaling(args []string, out io.Writer) error {
	f, err := parseSimulate(args)
	if err != nil {
		return err
	}
	sc, err := scalesim.Lookup(f.scenario, f.cal)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var results []*scalesim.Result
	for _, p := range f.policies {
		r, err := scalesim.Run(sc, strings.TrimSpace(p), f.seed)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		results = append(results, r)
	}
	if f.plot != "" {
		if err := writePlot(f.plot, simulationFigure(sc, results)); err != nil {
			return err
		}
	}
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printSimulation(out, sc, results)
	return nil
}

func printSimulation(out io.Writer, sc scalesim.Scenario, rs []*scalesim.Result) {
	fmt.Fprintf(out, "%s: %s\n\n", sc.Name, sc.About)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	if sc.Farm == scalesim.Web {
		fmt.Fprintln(tw, "policy\tmax\tfinal\tinstance-h\trequests\terrors\tp99 ms\touts\tins\tflaps\tins under load\t")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%d\t%d\t%.1f\t%d\t%d\t%d\t%d\t\n", r.Policy, r.MaxInstances, r.FinalInstances,
				r.InstanceHours, r.Requests, r.Errors, r.P99LatencyMs, r.ScaleOuts, r.ScaleIns, r.Flaps, r.ScaleInsDuringLoad)
		}
	} else {
		fmt.Fprintln(tw, "policy\tmax\tfinal\tinstance-h\tjobs\tp50 wait s\tp95 wait s\tmax wait s\touts\tins\tflaps\t")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%d\t%.1f\t%.1f\t%.1f\t%d\t%d\t%d\t\n", r.Policy, r.MaxInstances, r.FinalInstances,
				r.InstanceHours, r.Jobs, r.P50WaitS, r.P95WaitS, r.MaxWaitS, r.ScaleOuts, r.ScaleIns, r.Flaps)
		}
	}
	_ = tw.Flush()
}

// simulationFigure plots instances, load and delay of every policy on one
// time axis.
func simulationFigure(sc scalesim.Scenario, rs []*scalesim.Result) svgplot.Figure {
	load, delay := "jobs waiting", "p95 wait of jobs started (s)"
	if sc.Farm == scalesim.Web {
		load, delay = "requests per second", "p99 latency (ms)"
	}
	panels := []svgplot.Panel{{Title: "instances (launched)"}, {Title: load}, {Title: delay}}
	for _, r := range rs {
		var x, inst, l, d []float64
		for _, p := range r.Timeline {
			x = append(x, p.At.Minutes())
			inst, l, d = append(inst, float64(p.Instances)), append(l, p.Load), append(d, p.Delay)
		}
		for i, ys := range [][]float64{inst, l, d} {
			panels[i].Lines = append(panels[i].Lines, svgplot.Line{Name: r.Policy, X: x, Y: ys})
		}
	}
	return svgplot.Figure{Title: "gas simulate scaling: " + sc.Name, XLabel: "minutes", Panels: panels}
}

// writePlot writes the figure to path.
func writePlot(path string, fig svgplot.Figure) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if err := fig.Write(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return f.Close()
}

func runCalibrate(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("simulate calibrate", flag.ContinueOnError)
	workers := fs.Int("workers", 0, "engine goroutines (default: one per core)")
	repeat := fs.Int("repeat", 3, "runs per size; the fastest counts")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := calibrate(ctx, *workers, *repeat)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(map[string]any{"per_variant_ns": c.PerVariant.Nanoseconds(),
			"per_job_ns": c.PerJob.Nanoseconds(), "variants_per_second": int(1 / c.PerVariant.Seconds())})
	}
	fmt.Fprintf(out, "engine: %v per variant (%.1f M variants/s), %v per job besides\n", c.PerVariant, 1e-6/c.PerVariant.Seconds(), c.PerJob)
	fmt.Fprintf(out, "use: gas simulate scaling --per-variant %v --per-job %v ...\n", c.PerVariant, max(c.PerJob, scalesim.DefaultCalibration.PerJob))
	return nil
}
