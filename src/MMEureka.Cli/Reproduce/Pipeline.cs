using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MMEureka.Data;
using MMEureka.Prm;
using MMEureka.Reproduce;
using MMEureka.Runs;
using MMEureka.Sft;

namespace MMEureka.Cli.Reproduce;

/// <summary>
/// One stage of the reproduction: what it is for, the folder it fills, how to tell it is finished, and how to run
/// (or continue) it. <paramref name="Minutes"/> is its measured quick-preset wall time on a 2-core machine, for the
/// overall ETA.
/// </summary>
internal sealed record Stage(string Name, string Paper, string Folder, Func<bool> Done, Func<int> Run, double Minutes);

/// <summary>
/// <c>mmeureka reproduce</c>: data -> SFT -> RL (GRPO, CPGD, MM-Eureka with its filter and KL ablations) -> annotation
/// -> PRM (soft, hard, ORM, learning rates) -> Best-of-N -> CPGD's stability sweep -> results. Each stage is the
/// project's own verb run in-process on the standard run folders under <c>runs/</c> (the ones the notebooks read),
/// so a stage finished by a notebook or by hand is reused, and an interrupted one continues from its checkpoint
/// (every trainer writes checkpoints atomically and resumes to the same numbers).
/// </summary>
internal sealed class Pipeline
{
    private readonly string _preset, _runs, _data, _out;
    private readonly Func<string[], int> _verb;

    /// <summary>The stages in order.</summary>
    public IReadOnlyList<Stage> Stages { get; }

    /// <param name="preset">tiny, quick or full.</param>
    /// <param name="runs">Root of the run folders (runs/).</param>
    /// <param name="data">MiniK12 folder.</param>
    /// <param name="output">Where stages.json, results.json and report.html go.</param>
    /// <param name="verb">Runs one command line of <c>mmeureka</c> and returns its exit code.</param>
    public Pipeline(string preset, string runs, string data, string output, Func<string[], int> verb)
    {
        (_preset, _runs, _data, _out, _verb) = (preset, runs, data, output, verb);
        Stages = Build();
    }

    private string R(string name) => Path.Combine(_runs, name);
    private string Policy => Path.Combine(R($"sft-{_preset}"), "checkpoint");
    private bool Tiny => _preset == "tiny";

    private List<Stage> Build()
    {
        var s = new List<Stage>
        {
            new("data", "all", _data, () => File.Exists(Path.Combine(_data, "train.jsonl")), () =>
            {
                SftData.LoadOrGenerate(_data, SftConfig.ForPreset(_preset).Data, Console.WriteLine);
                return 0;
            }, 0.1),
            Trainer("sft", "all", R($"sft-{_preset}"), "eval-test.json", ["sft", "--preset", _preset, "--data", _data], 16),
        };
        foreach (var (name, extra) in new (string, string[])[]
                 {
                     ("grpo", ["--algo", "grpo"]), ("cpgd", ["--algo", "cpgd"]), ("mm_eureka", ["--algo", "mm_eureka"]),
                     ("mm_eureka-nofilter", ["--algo", "mm_eureka", "--no-filter"]), ("mm_eureka-kl0.01", ["--algo", "mm_eureka", "--kl-coef", "0.01"]),
                 })
            s.Add(Trainer("rl-" + name, name.StartsWith("cpgd") ? "CPGD" : "MM-Eureka", R($"rl-{name}-{_preset}"), "eval-ood.json",
                ["rl", .. extra, "--preset", _preset, "--init", Policy, "--data", _data], 4));

        string annotate = R($"annotate-{_preset}");
        int compare = Tiny ? 2 : 100;
        s.Add(new("annotate", "MM-PRM", annotate,
            () => File.Exists(Path.Combine(annotate, "summary.json")) && File.Exists(Path.Combine(annotate, "stepwise.json")),
            () => _verb(["annotate", "--policy", Policy, "--preset", _preset, "--data", _data, "--out", annotate,
                         "--compare-stepwise", compare.ToString(CultureInfo.InvariantCulture),
                         .. Directory.Exists(Path.Combine(annotate, "trees")) ? ["--resume"] : Array.Empty<string>()]), 14));

        foreach (var (name, folder, extra) in PrmRuns())
            s.Add(Trainer(name, "MM-PRM", R(folder), null,
                ["prm", "train", "--data", "{labels}", "--init", Policy, "--preset", _preset, "--problems-dir", _data, .. extra], 3));

        foreach (var (split, prm, file) in new[] { ("test", "soft", "table.json"), ("test", "hard", "table-hard.json"), ("ood", "soft", "table.json") })
        {
            string dir = R($"bon-{_preset}-{split}");
            s.Add(new($"bon-{split}-{prm}", "MM-PRM", dir, () => File.Exists(Path.Combine(dir, file)), () => BestOfNStage(split, prm, dir, file), prm == "hard" ? 1 : 3));
        }
        // The stability sweep last: the longest stage, and the MM-PRM results need not wait for it.
        string sweepPreset = Results.SweepPreset(_preset);
        string sweepDir = R("sweep-" + sweepPreset);
        s.Add(new("sweep", "CPGD", sweepDir, () => File.Exists(Path.Combine(sweepDir, "summary.json")), () => _verb(
            ["rl", "sweep", "--preset", sweepPreset, "--init", Policy, "--data", _data,
             "--algos", Tiny ? "grpo,cpgd" : SweepAlgos, "--seeds", Tiny ? "1" : "1,2,3", "--out", sweepDir]), 14));

        return s;
    }

    /// <summary>The sweep's algorithms: CPGD's Figure 1 baselines, no-clip, and CPGD.</summary>
    public const string SweepAlgos = "grpo,rloo,reinforce_pp,no_clip,cpgd";

    private IEnumerable<(string name, string folder, string[] extra)> PrmRuns()
    {
        yield return ("prm-soft", $"prm-{_preset}-soft", ["--labels", "soft"]);
        yield return ("prm-hard", $"prm-{_preset}-hard", ["--labels", "hard"]);
        yield return ("orm", $"orm-{_preset}", ["--orm"]);
        double baseLr = PrmConfig.ForPreset(_preset).LearningRate;
        foreach (var lr in Results.PrmRates.Where(r => r != baseLr))
            yield return ("prm-" + Results.PrmRateFolder(_preset, lr)[$"prm-{_preset}-".Length..], Results.PrmRateFolder(_preset, lr),
                ["--labels", "soft", "--lr", lr.ToString("R", CultureInfo.InvariantCulture)]);
    }

    /// <summary>
    /// A trainer verb's stage: finished when <paramref name="finalFile"/> exists (or, without one, when its checkpoint
    /// reached the configured steps); continued with --resume when a checkpoint exists; else started (--force when
    /// the folder only holds an unfinished start without a checkpoint).
    /// </summary>
    private Stage Trainer(string name, string paper, string dir, string? finalFile, string[] args, double minutes)
    {
        bool Done() => finalFile is null ? ReachedSteps(dir) : File.Exists(Path.Combine(dir, finalFile));
        int Run()
        {
            var line = args.Select(a => a == "{labels}" ? Labels() : a).Concat(["--out", dir]).ToList();
            if (File.Exists(Path.Combine(dir, "checkpoint", RunFolder.TrainerStateFile))) line.Add("--resume");
            else if (File.Exists(Path.Combine(dir, "config.json"))) line.Add("--force");
            return _verb([.. line]);
        }
        return new Stage(name, paper, dir, Done, Run, minutes);
    }

    private static bool ReachedSteps(string dir)
    {
        try
        {
            var state = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "checkpoint", RunFolder.TrainerStateFile)));
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")));
            return (int?)state?["step"] >= (int?)config?["steps"];
        }
        catch (IOException) { return false; }
        catch (JsonException) { return false; }
    }

    /// <summary>
    /// The PRM's training labels: the annotation when at least 20 of its paths reach an answer (what the ORM and the
    /// held-out split need); else (a tiny annotation) exact labels from gold solutions, as notebook 06 does.
    /// </summary>
    private string Labels()
    {
        string annotate = R($"annotate-{_preset}");
        if (File.Exists(PrmData.StepsFile(annotate)) && StepExample.ReadJsonl(PrmData.StepsFile(annotate)).Count(e => e.Answer != null) >= 20)
            return annotate;
        string gold = R($"gold-{_preset}");
        if (!File.Exists(PrmData.StepsFile(gold)))
        {
            Console.WriteLine($"the annotation in {annotate} has fewer than 20 paths that reach an answer: the PRM trains on gold labels ({gold})");
            int rc = _verb(["prm", "gold-labels", "--out", gold, "--data", _data, "--problems", "2000"]);
            if (rc != 0) throw new InvalidOperationException($"prm gold-labels failed (exit code {rc})");
        }
        return gold;
    }

    /// <summary>Best-of-N through the same caches notebook 06 uses: candidates sampled once per split, scores once per model.</summary>
    private int BestOfNStage(string split, string prmLabels, string dir, string file)
    {
        var problems = MiniK12.Load(_data, split == "ood" ? Split.Ood : Split.Test);
        IReadOnlyList<Problem> chosen = Tiny ? problems.Take(16).ToList() : problems;
        var config = new BonConfig { Candidates = Tiny ? 8 : 16 };
        int[] ns = Tiny ? [1, 2, 4, 8] : [1, 2, 4, 8, 16];
        var clock = Stopwatch.StartNew();
        var sampled = BestOfN.LoadOrSample(Path.Combine(dir, "candidates.jsonl"), Policy, chosen, config);
        string prm = R($"prm-{_preset}-{prmLabels}"), orm = R($"orm-{_preset}");
        var table = BestOfN.Table(BestOfN.ScoredByRuns(sampled, prm, orm, split), ns);
        var json = table.ToJson();
        json["split"] = split;
        json["prm"] = prm;
        RunFolder.WriteAtomically(Path.Combine(dir, file), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        Console.WriteLine($"best-of-N on {chosen.Count} {split} problems with the {prmLabels}-label PRM ({clock.Elapsed.TotalSeconds:F0} s):");
        Console.Write(table.ToText());
        return 0;
    }

    /// <summary>
    /// Runs every stage not yet finished, in order; stops at the first failure (exit code 1, naming the stage). Writes
    /// stages.json after each stage, then results.json and report.html. <paramref name="until"/> stops after the named
    /// stage (for tests of interruption).
    /// </summary>
    public int Run(string? until = null)
    {
        Directory.CreateDirectory(_out);
        var log = ReadStageLog();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Stages.Count; i++)
        {
            var stage = Stages[i];
            string head = $"[{i + 1}/{Stages.Count}] {stage.Name} ({stage.Paper})";
            if (stage.Done())
            {
                Console.WriteLine($"{head}: finished in {stage.Folder}, reused");
                if (log[stage.Name] is null) log[stage.Name] = new JsonObject { ["status"] = "reused", ["folder"] = stage.Folder };
            }
            else
            {
                Console.WriteLine($"{head} -> {stage.Folder} | elapsed {Fmt(clock.Elapsed)}, eta {Fmt(Eta(i))} (from the quick preset's measured stage times)");
                var stageClock = Stopwatch.StartNew();
                int rc = stage.Run();
                if (rc != 0 || !stage.Done())
                {
                    Console.Error.WriteLine($"error: stage {stage.Name} failed (exit code {rc}{(rc == 0 ? ", but its folder is not finished" : "")}); " +
                                            "fix the cause and run the same command again: finished stages are reused, this one continues");
                    WriteStageLog(log);
                    return 1;
                }
                double earlier = (double?)log[stage.Name]?["seconds"] ?? 0;
                log[stage.Name] = new JsonObject
                {
                    ["status"] = "ran", ["folder"] = stage.Folder, ["seconds"] = earlier + stageClock.Elapsed.TotalSeconds,
                    ["finished"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                };
            }
            WriteStageLog(log);
            if (until == stage.Name)
            {
                Console.WriteLine($"stopped after stage {stage.Name} (--until); run again without it to continue");
                return 0;
            }
        }
        var rows = Results.Collect(_runs, _preset);
        var results = Results.ToJson(rows, _preset);
        results["stages"] = log.DeepClone();
        RunFolder.WriteAtomically(Path.Combine(_out, "results.json"), results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        Report.Write(Path.Combine(_out, "report.html"), _preset, _runs, rows, log);
        Console.WriteLine($"{Results.VerdictName(Verdict.Yes)}/{Results.VerdictName(Verdict.Partly)}/{Results.VerdictName(Verdict.No)}/{Results.VerdictName(Verdict.NotRun)}: " +
                          string.Join("/", new[] { Verdict.Yes, Verdict.Partly, Verdict.No, Verdict.NotRun }.Select(v => rows.Count(r => r.Verdict == v))) +
                          $" of {rows.Count} claims; {Path.Combine(_out, "report.html")}, {Path.Combine(_out, "results.json")} ({Fmt(clock.Elapsed)} this call)");
        return 0;
    }

    private TimeSpan Eta(int from)
    {
        double scale = _preset switch { "tiny" => 0.02, "full" => 5, _ => 1 };
        return TimeSpan.FromMinutes(scale * Stages.Skip(from).Where(s => !s.Done()).Sum(s => s.Minutes));
    }

    private string StageLogPath => Path.Combine(_out, "stages.json");

    private JsonObject ReadStageLog() =>
        File.Exists(StageLogPath) && JsonNode.Parse(File.ReadAllText(StageLogPath)) is JsonObject o ? o : new JsonObject();

    private void WriteStageLog(JsonObject log) =>
        RunFolder.WriteAtomically(StageLogPath, log.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

    private static string Fmt(TimeSpan t) => $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}";
}
