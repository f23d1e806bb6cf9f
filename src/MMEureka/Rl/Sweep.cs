using System.Diagnostics;
using System.Text.Json.Nodes;
using MMEureka.Data;
using MMEureka.Runs;

namespace MMEureka.Rl;

/// <summary>One run of a sweep: its recipe, seed, config and folder.</summary>
public sealed record SweepRun(string Algo, long Seed, RlConfig Config, string Dir);

/// <summary>What the sweep reports: a run started, skipped, advanced a step, or ended; with the overall ETA.</summary>
public sealed record SweepProgress(SweepRun Run, int Index, int Total, string Event, RlProgress? Step, TimeSpan Elapsed, TimeSpan? Eta, string? Detail = null);

/// <summary>
/// CPGD's stability study as a list of runs (algorithms x seeds on one preset, with the same <c>--set</c>
/// overrides), trained one after another, each in its own run folder <c>OUT/ALGO-sSEED</c>. A run that ended
/// (finished, or stopped on a non-finite loss) leaves <c>sweep.json</c> and is skipped next time; a run with a
/// checkpoint but no <c>sweep.json</c> was interrupted and is resumed from its checkpoint; an empty folder
/// (interrupted before its first checkpoint) starts over. At the end <see cref="SweepSummary"/> writes
/// summary.json and summary.csv into OUT.
/// </summary>
public sealed class Sweep
{
    /// <summary>Per-run file saying the run ended and how.</summary>
    public const string StatusFile = "sweep.json";

    /// <summary>The runs in training order: seed-major, so a sweep cut short still has every algorithm's first seed.</summary>
    public IReadOnlyList<SweepRun> Runs { get; }
    /// <summary>The sweep folder.</summary>
    public string Dir { get; }
    private readonly string _init;

    /// <summary>Plans the sweep; every config is built and validated now, so a bad <c>--set</c> fails before any training.</summary>
    public Sweep(IEnumerable<string> algos, IEnumerable<long> seeds, string preset, IEnumerable<string> sets, string init, string dir)
    {
        var algoList = algos.ToList();
        var seedList = seeds.ToList();
        if (algoList.Count == 0) throw new ArgumentException("sweep --algos is empty");
        if (seedList.Count == 0) throw new ArgumentException("sweep --seeds is empty");
        if (algoList.Distinct().Count() != algoList.Count) throw new ArgumentException("sweep --algos names an algorithm twice");
        if (seedList.Distinct().Count() != seedList.Count) throw new ArgumentException("sweep --seeds names a seed twice");
        var setList = sets.ToList();
        Dir = dir;
        _init = init;
        Runs = seedList.SelectMany(seed => algoList.Select(algo =>
            new SweepRun(algo, seed, RlOverrides.Apply(RlConfig.ForAlgo(algo, preset) with { Seed = seed }, setList), Path.Combine(dir, $"{algo}-s{seed}"))))
            .ToList();
    }

    /// <summary>
    /// Trains every run not yet done; returns the summary of all runs (done earlier or now). A run folder made
    /// with another configuration is refused naming it (choose another --out), never overwritten.
    /// </summary>
    public SweepSummary Run(IReadOnlyList<Problem> train, IReadOnlyList<Problem> test, IReadOnlyList<Problem> ood,
        Action<SweepProgress>? progress = null)
    {
        Directory.CreateDirectory(Dir);
        var clock = Stopwatch.StartNew();
        // ETA: the time per trained step so far, times the steps left (skipped runs cost nothing).
        long stepsLeft = Runs.Where(r => !File.Exists(Path.Combine(r.Dir, StatusFile))).Sum(r => (long)r.Config.Steps);
        long stepsTrained = 0;
        for (int i = 0; i < Runs.Count; i++)
        {
            var run = Runs[i];
            string status = Path.Combine(run.Dir, StatusFile);
            var trainer = new RlTrainer(run.Config, _init, train, test, ood, run.Dir);
            if (File.Exists(trainer.Folder.ConfigPath) && !trainer.Folder.HasCompatibleConfig)
                throw new InvalidDataException($"{run.Dir} holds a run made with another configuration (config.json differs); use another --out or delete that folder");
            if (File.Exists(status))
            {
                progress?.Invoke(new SweepProgress(run, i, Runs.Count, "skipped", null, clock.Elapsed, Eta(), "already done"));
                continue;
            }
            bool hasRun = trainer.Folder.HasCompatibleCheckpoint;
            progress?.Invoke(new SweepProgress(run, i, Runs.Count, hasRun ? "resumed" : "started", null, clock.Elapsed, Eta()));
            var runClock = Stopwatch.StartNew();
            int before = hasRun ? trainer.Folder.StateStep(JsonNode.Parse(File.ReadAllText(trainer.Folder.TrainerStatePath))!.AsObject()) : 0;
            stepsLeft -= before;
            int lastStep = before;
            var result = trainer.Run(resume: hasRun, overwrite: !hasRun, progress: p =>
            {
                stepsTrained += p.Step - lastStep;
                stepsLeft -= p.Step - lastStep;
                lastStep = p.Step;
                progress?.Invoke(new SweepProgress(run, i, Runs.Count, "step", p, clock.Elapsed, Eta()));
            });
            stepsLeft -= run.Config.Steps - lastStep; // a stopped run gives up its remaining steps
            var line = new JsonObject
            {
                ["algo"] = run.Algo, ["seed"] = run.Seed, ["status"] = result.Stopped == null ? "finished" : "stopped",
                ["step"] = result.Step, ["reason"] = result.Stopped, ["minutes"] = runClock.Elapsed.TotalMinutes,
            };
            RunFolder.WriteAtomically(status, line.ToJsonString(new() { WriteIndented = true }) + "\n");
            progress?.Invoke(new SweepProgress(run, i, Runs.Count, result.Stopped == null ? "finished" : "stopped", null, clock.Elapsed, Eta(), result.Stopped));
        }
        var summary = SweepSummary.Read(Runs.Select(r => r.Dir));
        summary.Write(Dir);
        return summary;

        TimeSpan? Eta() => stepsTrained == 0 ? null : TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / stepsTrained * Math.Max(0, stepsLeft));
    }
}
