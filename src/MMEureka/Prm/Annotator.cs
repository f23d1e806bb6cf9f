using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using MMEureka.Data;
using MMEureka.Runs;

namespace MMEureka.Prm;

/// <summary>Progress of an annotation run, for a progress bar.</summary>
public sealed record AnnotateProgress(int ProblemsDone, int ProblemsTotal, int Kept, long Rollouts, int Labels, long RolloutsThisRun,
    int ProblemsThisRun, TimeSpan Elapsed)
{
    /// <summary>Rollouts per second in this process.</summary>
    public double RolloutsPerSecond => Elapsed.TotalSeconds > 0 ? RolloutsThisRun / Elapsed.TotalSeconds : 0;

    /// <summary>Time left at this run's pace of problems.</summary>
    public TimeSpan Eta => ProblemsThisRun == 0 ? TimeSpan.Zero : Elapsed * ((ProblemsTotal - ProblemsDone) / (double)ProblemsThisRun);
}

/// <summary>
/// An annotation run folder (<c>runs/annotate-NAME</c>): <c>config.json</c>; <c>trees/&lt;problem_id&gt;.json</c>,
/// one search tree per problem written atomically as soon as its search ends (an existing tree is not searched
/// again, so an interrupted run resumes per question); <c>steps.jsonl</c>, the training paths
/// (<see cref="StepExample"/>), rewritten every <see cref="WriteEvery"/> problems so a PRM can start on early data;
/// <c>trl.jsonl</c>, the same in TRL's format; <c>metrics.jsonl</c>, one line per finished problem;
/// <c>summary.json</c>.
/// </summary>
public static class Annotator
{
    /// <summary>steps.jsonl and trl.jsonl are rewritten after this many finished problems (and at the end).</summary>
    public const int WriteEvery = 100;

    /// <summary>The tree of problem <paramref name="problemId"/> in run folder <paramref name="runDir"/>.</summary>
    public static string TreePath(string runDir, string problemId) => Path.Combine(runDir, "trees", problemId + ".json");

    /// <summary>
    /// Annotates <paramref name="problems"/> (each searched with its index in this list) into <paramref name="runDir"/>.
    /// Without <paramref name="resume"/> the folder must not hold trees yet; with it, config.json must match and
    /// problems with a tree are skipped. <paramref name="source"/> (policy and data paths) is recorded in config.json.
    /// After <paramref name="stopAfter"/> no new problem starts; the ones under way finish, and the data and summary
    /// cover the trees written so far (a later <c>resume</c> continues).
    /// </summary>
    public static AnnotationSummary Run(OmegaPrmConfig config, IReadOnlyList<Problem> problems, IRolloutPolicy policy, string runDir,
        bool resume, JsonObject source, Action<AnnotateProgress>? progress = null, TimeSpan? stopAfter = null)
    {
        config.Validate();
        if (problems.Count == 0) throw new ArgumentException("no problems to annotate");
        var duplicate = problems.GroupBy(p => p.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null) throw new ArgumentException($"problem id {duplicate.Key} appears {duplicate.Count()} times; trees are named by id");
        var configJson = new JsonObject { ["annotate"] = JsonNode.Parse(config.ToJson()), ["source"] = source.DeepClone() }
            .ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        var run = new RunFolder(runDir, configJson);
        string treesDir = Path.Combine(run.Dir, "trees");
        if (resume && File.Exists(run.ConfigPath) && File.ReadAllText(run.ConfigPath) != configJson)
            throw new InvalidDataException($"{run.ConfigPath}: the annotation was made with other settings; resume it with the same ones or choose another --out");
        if (!resume && Directory.Exists(treesDir) && Directory.EnumerateFiles(treesDir, "*.json").Any())
            throw new IOException($"{run.Dir} already holds an annotation (trees/); pass --resume to continue it or choose another --out");
        Directory.CreateDirectory(treesDir);
        if (!resume || !File.Exists(run.MetricsPath)) File.WriteAllText(run.MetricsPath, "");
        RunFolder.WriteAtomically(run.ConfigPath, configJson);

        var trees = new SearchTree?[problems.Count];
        var examples = new IReadOnlyList<StepExample>[problems.Count];
        for (int i = 0; i < problems.Count; i++)
        {
            var path = TreePath(run.Dir, problems[i].Id);
            if (!File.Exists(path)) continue;
            var tree = SearchTree.Read(path);
            if (tree.ProblemIndex != i || tree.ProblemId != problems[i].Id)
                throw new InvalidDataException($"{path}: tree of problem {tree.ProblemId} at index {tree.ProblemIndex}, but this run lists {problems[i].Id} at {i}; resume with the same --problems and data");
            trees[i] = tree;
            examples[i] = TrainingPaths.FromTree(tree, config);
        }
        var byId = problems.ToDictionary(p => p.Id);
        void WriteData()
        {
            var all = examples.Where(e => e != null).SelectMany(e => e).ToList();
            StepExample.WriteJsonl(Path.Combine(run.Dir, "steps.jsonl"), all);
            TrlExport.Write(Path.Combine(run.Dir, "trl.jsonl"), all, byId);
        }

        var todo = Enumerable.Range(0, problems.Count).Where(i => trees[i] == null).ToList();
        int done = problems.Count - todo.Count, doneHere = 0;
        long rolloutsHere = 0;
        var clock = Stopwatch.StartNew();
        var batcher = new RolloutBatcher(policy);
        int kept = trees.Count(t => t != null && TrainingPaths.Kept(t));
        long rolloutsTotal = trees.Sum(t => (long)(t?.TotalRollouts ?? 0));
        int labelsTotal = examples.Sum(e => e?.Sum(x => x.Labels.Count) ?? 0);
        progress?.Invoke(new AnnotateProgress(done, problems.Count, kept, rolloutsTotal, labelsTotal, 0, 0, clock.Elapsed));
        using (var metrics = run.OpenLog())
        {
            batcher.RunAll(todo, config.Concurrency, i => OmegaPrm.Run(problems[i], i, config, batcher.Request), (i, tree) =>
            {
                tree.Write(TreePath(run.Dir, problems[i].Id));
                trees[i] = tree;
                examples[i] = TrainingPaths.FromTree(tree, config);
                done++; doneHere++;
                rolloutsHere += tree.TotalRollouts;
                rolloutsTotal += tree.TotalRollouts;
                int labels = examples[i].Sum(x => x.Labels.Count);
                labelsTotal += labels;
                if (TrainingPaths.Kept(tree)) kept++;
                RunFolder.WriteLine(metrics, new JsonObject
                {
                    ["step"] = done, ["problem"] = i, ["problem_id"] = tree.ProblemId, ["root_mc"] = tree.Root.Mc,
                    ["searches"] = tree.Searches.Count, ["rollouts"] = tree.TotalRollouts, ["examples"] = examples[i].Count,
                    ["labels"] = labels, ["kept_total"] = kept, ["rollouts_total"] = rolloutsTotal, ["labels_total"] = labelsTotal,
                    ["elapsed_s"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
                });
                if (doneHere % WriteEvery == 0) WriteData();
                progress?.Invoke(new AnnotateProgress(done, problems.Count, kept, rolloutsTotal, labelsTotal, rolloutsHere, doneHere, clock.Elapsed));
            }, mayStart: () => stopAfter is not { } limit || clock.Elapsed < limit);
        }
        WriteData();
        var summary = AnnotationSummary.From(trees.Where(t => t != null).Select(t => t!).ToList(), examples.Where(e => e != null).SelectMany(e => e).ToList());
        var json = summary.ToJson();
        json["seconds_this_run"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
        json["rollouts_this_run"] = rolloutsHere;
        json["problems_listed"] = problems.Count;
        RunFolder.WriteAtomically(Path.Combine(run.Dir, "summary.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return summary;
    }

    /// <summary>Reads every tree of a run folder, in problem order.</summary>
    public static IReadOnlyList<SearchTree> ReadTrees(string runDir)
    {
        var dir = Path.Combine(runDir, "trees");
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{runDir} has no trees/ folder");
        return Directory.EnumerateFiles(dir, "*.json").Select(SearchTree.Read).OrderBy(t => t.ProblemIndex).ToList();
    }
}
