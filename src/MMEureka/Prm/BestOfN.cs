using System.Text;
using System.Text.Json.Nodes;
using MMEureka.Data;
using MMEureka.Eval;
using MMEureka.Models;
using MMEureka.Rewards;

namespace MMEureka.Prm;

/// <summary>How Best-of-N samples its candidates.</summary>
public sealed record BonConfig
{
    /// <summary>Candidates sampled per problem (the largest N).</summary>
    public int Candidates { get; init; } = 16;
    /// <summary>Sampling temperature (MM-PRM samples at 1).</summary>
    public float Temperature { get; init; } = 1f;
    /// <summary>Most tokens per candidate.</summary>
    public int MaxNewTokens { get; init; } = 160;
    /// <summary>Seed of the draws (candidate s of problem i draws from Sampler.RowSeed(seed, i * candidates + s), as
    /// <see cref="Evaluator"/> does).</summary>
    public long Seed { get; init; }
    /// <summary>Rows sampled or scored together.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Throws naming the field when a value is out of range.</summary>
    public BonConfig Validate()
    {
        if (Candidates <= 0) throw new ArgumentException($"bon candidates must be positive, got {Candidates}");
        if (!(Temperature > 0)) throw new ArgumentException($"bon temperature must be above 0 (N greedy candidates would be identical), got {Temperature}");
        if (MaxNewTokens <= 0) throw new ArgumentException($"bon max_new_tokens must be positive, got {MaxNewTokens}");
        if (BatchSize <= 0) throw new ArgumentException($"bon batch_size must be positive, got {BatchSize}");
        return this;
    }
}

/// <summary>One sampled candidate: its text, steps, the verifier's verdict and the reward models' scores.</summary>
/// <param name="Prm">The PRM's score of each scored step (empty until scored).</param>
/// <param name="Orm">The outcome model's score, when one was given.</param>
/// <param name="Vote">The final answer in canonical form for majority voting, or null when there is none.</param>
public sealed record BonCandidate(string Response, Solution Solution, bool Correct, string? Vote, double[] Prm, double? Orm = null);

/// <summary>A problem with its candidates, in sampling order (the first N are the candidates of Best-of-N).</summary>
public sealed record BonProblem(Problem Problem, IReadOnlyList<BonCandidate> Candidates);

/// <summary>Accuracy per N of each selection method: one row per method, one value per N; and, for every method that
/// scores candidates (the aggregators and the outcome model), its separation over all the candidates
/// (<see cref="BestOfN.Separation(IReadOnlyList{BonProblem}, Func{BonCandidate, double})"/>).</summary>
public sealed record BonTable(IReadOnlyList<int> Ns, IReadOnlyList<(string Method, double[] Accuracy)> Rows, int Problems,
    IReadOnlyDictionary<string, double>? Separation = null)
{
    /// <summary>The row of a method.</summary>
    public double[] this[string method] => Rows.First(r => r.Method == method).Accuracy;

    /// <summary>The table as JSON: {"n": [...], "problems": P, "accuracy": {method: [...]}}.</summary>
    public JsonObject ToJson()
    {
        var acc = new JsonObject();
        foreach (var (m, a) in Rows) acc[m] = new JsonArray(a.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
        var json = new JsonObject { ["n"] = new JsonArray(Ns.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()), ["problems"] = Problems, ["accuracy"] = acc };
        if (Separation != null) // NaN (no problem with both right and wrong candidates) has no JSON number: left out
            json["separation"] = new JsonObject(Separation.Where(kv => double.IsFinite(kv.Value)).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value))));
        return json;
    }

    /// <summary>The table as aligned text, accuracies in percent.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        bool auc = Separation is { Count: > 0 };
        sb.Append($"{"method",-14}").AppendJoin("", Ns.Select(n => $"{"N=" + n,8}")).Append(auc ? $"{"AUC",8}" : "").Append('\n');
        foreach (var (m, a) in Rows)
        {
            sb.Append($"{m,-14}").AppendJoin("", a.Select(v => $"{100 * v,8:F1}"));
            if (auc) sb.Append(Separation!.TryGetValue(m, out var v) ? $"{v,8:F3}" : $"{"",8}");
            sb.Append('\n');
        }
        return sb.ToString();
    }
}

/// <summary>
/// Best-of-N with a process reward model (PAPERS.md section 3): N candidates per problem sampled once at temperature 1,
/// every step scored, each candidate's scores aggregated (<see cref="Aggregators"/>), the argmax picked (ties to the
/// first). The N = 1, 2, 4, ... of a table are nested prefixes of the same candidates, scored once. Beside the
/// aggregators: random pick as its exact expectation (correct candidates among the first N / N), majority vote over
/// final answers (ties to the answer seen first), the unbiased pass@N from all the candidates, and an outcome model.
/// </summary>
public static class BestOfN
{
    /// <summary>Row names of the baselines.</summary>
    public const string Random = "random", Majority = "majority", PassAtN = "pass@n", Orm = "orm";

    /// <summary>Samples <c>config.Candidates</c> responses per problem and judges them with the verifier.</summary>
    public static IReadOnlyList<BonProblem> Sample(MiniVlm policy, Tokenizer tokenizer, IReadOnlyList<Problem> problems, BonConfig config)
    {
        config.Validate();
        var report = Evaluator.Run(policy, tokenizer, problems, new EvalConfig
        {
            Samples = config.Candidates, Temperature = config.Temperature, MaxNewTokens = config.MaxNewTokens, Seed = config.Seed, BatchSize = config.BatchSize,
        });
        return report.Problems.Select(pe => new BonProblem(pe.Problem, pe.Responses.Select((r, s) =>
        {
            var solution = Solution.Parse(r);
            return new BonCandidate(r, solution, pe.Correct[s], VoteKey(pe.Problem, solution.Answer), []);
        }).ToList())).ToList();
    }

    /// <summary>Scores every candidate's steps with <paramref name="prm"/> (and its outcome with <paramref name="orm"/>).</summary>
    public static IReadOnlyList<BonProblem> Score(IReadOnlyList<BonProblem> problems, Tokenizer tokenizer, MiniVlm prm, MiniVlm? orm = null,
        int batchSize = 32, Action<string, int, int>? progress = null)
    {
        var flat = problems.SelectMany(p => p.Candidates.Select(c => (p.Problem, c))).ToList();
        var pixels = problems.ToDictionary(p => p.Problem.Id, p => PolicyPrompt.Pixels(p.Problem));
        List<PrmInput> Inputs(MiniVlm model, bool outcome) => flat.Select(x => PrmInput.Build(tokenizer, pixels[x.Problem.Id],
            PolicyPrompt.Encode(tokenizer, x.Problem), x.c.Solution, model.Config.MaxTextLen, outcome)).ToList();
        var prmScores = StepScores.Score(prm, Inputs(prm, false), batchSize, done => progress?.Invoke("prm", done, flat.Count));
        var ormScores = orm == null ? null : StepScores.Score(orm, Inputs(orm, true), batchSize, done => progress?.Invoke("orm", done, flat.Count));
        int at = 0;
        return problems.Select(p => new BonProblem(p.Problem, p.Candidates.Select(c =>
        {
            var scored = c with { Prm = prmScores[at], Orm = ormScores is null ? null : ormScores[at].Length > 0 ? ormScores[at][0] : 0 };
            at++;
            return scored;
        }).ToList())).ToList();
    }

    /// <summary>The accuracy table for each N in <paramref name="ns"/> (each at most the candidates per problem).</summary>
    public static BonTable Table(IReadOnlyList<BonProblem> problems, IReadOnlyList<int> ns)
    {
        if (problems.Count == 0) throw new ArgumentException("no problems");
        int k = problems.Min(p => p.Candidates.Count);
        foreach (var n in ns)
            if (n < 1 || n > k) throw new ArgumentException($"N = {n} is outside 1..{k} (the candidates sampled per problem)");
        bool hasOrm = problems.All(p => p.Candidates.All(c => c.Orm != null));
        var rows = new List<(string, double[])>();
        var separation = new Dictionary<string, double>();
        double[] Row(Func<BonProblem, int, double> perProblem) => ns.Select(n => problems.Average(p => perProblem(p, n))).ToArray();
        foreach (var a in Aggregators.All)
        {
            double Aggregated(BonCandidate c) => Aggregators.Aggregate(c.Prm, a);
            rows.Add((Aggregators.Name(a), Row((p, n) => PickCorrect(p, n, Aggregated))));
            separation[Aggregators.Name(a)] = Separation(problems, Aggregated);
        }
        if (hasOrm)
        {
            rows.Add((Orm, Row((p, n) => PickCorrect(p, n, c => c.Orm!.Value))));
            separation[Orm] = Separation(problems, c => c.Orm!.Value);
        }
        rows.Add((Random, Row(RandomPick)));
        rows.Add((Majority, Row(MajorityVote)));
        rows.Add((PassAtN, Row((p, n) => PassAtK.Estimate(p.Candidates.Count, p.Candidates.Count(c => c.Correct), n))));
        return new BonTable(ns, rows, problems.Count, separation);
    }

    /// <summary>
    /// How well a score tells a problem's correct candidates from its wrong ones: over the problems that have both, the
    /// mean of the chance that a correct candidate scores above a wrong one of the same problem (ties count one half),
    /// i.e. the within-problem ROC AUC. 0.5 is a coin (what random pick has by construction), 1 a perfect verifier;
    /// NaN when no problem has both. Best-of-N can only beat random pick where this is above 0.5.
    /// </summary>
    public static double Separation(IReadOnlyList<BonProblem> problems, Func<BonCandidate, double> score) =>
        Separation(problems.Select(p => p.Candidates.Select(c => (score(c), c.Correct))));

    /// <summary><see cref="Separation(IReadOnlyList{BonProblem}, Func{BonCandidate, double})"/> of any scored items
    /// in groups (one group per problem): the mean over groups with both kinds of the within-group ROC AUC.</summary>
    public static double Separation(IEnumerable<IEnumerable<(double Score, bool Right)>> groups)
    {
        double sum = 0;
        int counted = 0;
        foreach (var g in groups)
        {
            var items = g.ToList();
            var right = items.Where(x => x.Right).Select(x => x.Score).ToList();
            var wrong = items.Where(x => !x.Right).Select(x => x.Score).ToList();
            if (right.Count == 0 || wrong.Count == 0) continue;
            double wins = 0;
            foreach (var r in right)
                foreach (var w in wrong)
                    wins += r > w ? 1 : r == w ? 0.5 : 0;
            sum += wins / (right.Count * wrong.Count);
            counted++;
        }
        return counted == 0 ? double.NaN : sum / counted;
    }

    /// <summary>1 when the argmax (first on ties) of <paramref name="score"/> over the first <paramref name="n"/>
    /// candidates is correct, else 0.</summary>
    public static double PickCorrect(BonProblem p, int n, Func<BonCandidate, double> score) =>
        p.Candidates[Aggregators.ArgMax(p.Candidates.Take(n).Select(score).ToList())].Correct ? 1 : 0;

    /// <summary>The expected accuracy of picking one of the first <paramref name="n"/> candidates uniformly at random:
    /// exactly the fraction of them that is correct (MM-PRM estimated it from 5000 draws).</summary>
    public static double RandomPick(BonProblem p, int n) => p.Candidates.Take(n).Count(c => c.Correct) / (double)n;

    /// <summary>1 when the most frequent final answer among the first <paramref name="n"/> candidates (ties to the
    /// answer that appeared first; candidates without an answer do not vote) is correct, else 0.</summary>
    public static double MajorityVote(BonProblem p, int n)
    {
        var first = p.Candidates.Take(n).Select((c, i) => (c, i)).Where(x => x.c.Vote != null)
            .GroupBy(x => x.c.Vote).Select(g => (count: g.Count(), firstIndex: g.First().i, correct: g.First().c.Correct))
            .OrderByDescending(g => g.count).ThenBy(g => g.firstIndex).FirstOrDefault();
        return first.count > 0 && first.correct ? 1 : 0;
    }

    /// <summary>
    /// The final answer in a form where equivalent answers agree: the option letter for multiple choice (when the
    /// text names exactly one), the exact rational value for a number (so 0.5 and 1/2 vote together), else the
    /// cleaned text; null when the response has no answer.
    /// </summary>
    public static string? VoteKey(Problem problem, string? answer)
    {
        if (answer == null) return null;
        var cleaned = AnswerText.Clean(answer).Trim();
        if (cleaned.Length == 0) return null;
        if (problem.AnswerType == AnswerType.MultipleChoice)
        {
            int index = Verifier.ChoiceIndex(answer, problem.Choices);
            return index >= 0 ? ((char)('A' + index)).ToString() : cleaned;
        }
        var candidates = AnswerText.Candidates(answer);
        return candidates.Count == 1 ? $"{candidates[0].Numerator}/{candidates[0].Denominator}" : cleaned;
    }

    /// <summary>
    /// The candidates of <paramref name="problems"/> from <paramref name="path"/> when it was sampled with the same
    /// settings (recorded beside it in <c>PATH.json</c>: policy folder, seed, candidates, temperature, token limit,
    /// problem count and first id); otherwise sampled now and written there. With <paramref name="replace"/> false, a
    /// file made with other settings is an error naming the field instead of being replaced.
    /// </summary>
    public static IReadOnlyList<BonProblem> LoadOrSample(string path, string policyDir, IReadOnlyList<Problem> problems, BonConfig config, bool replace = true)
    {
        config.Validate();
        var settings = new JsonObject
        {
            ["policy"] = Path.GetFullPath(policyDir), ["seed"] = config.Seed, ["candidates"] = config.Candidates, ["temperature"] = config.Temperature,
            ["max_new_tokens"] = config.MaxNewTokens, ["problems"] = problems.Count, ["first_problem"] = problems.Count > 0 ? problems[0].Id : null,
        };
        var sidecar = path + ".json";
        if (File.Exists(path) && File.Exists(sidecar))
        {
            var saved = JsonNode.Parse(File.ReadAllText(sidecar)) as JsonObject;
            var differs = settings.Select(kv => kv.Key).FirstOrDefault(k => saved?[k]?.ToJsonString() != settings[k]?.ToJsonString());
            if (differs == null) return Load(path, problems);
            if (!replace) throw new InvalidDataException($"{sidecar}: field {differs} is {saved?[differs]?.ToJsonString() ?? "missing"}, this run has {settings[differs]?.ToJsonString()}; delete {path} to sample again");
        }
        var policy = MiniVlm.Load(policyDir, out var tokenizer);
        var sampled = Sample(policy, tokenizer, problems, config);
        Save(path, sampled);
        Runs.RunFolder.WriteAtomically(sidecar, settings.ToJsonString());
        return sampled;
    }

    /// <summary>
    /// The per-step scores of every candidate (flattened in problem then sample order) by the reward model in
    /// <paramref name="checkpointDir"/>, read from <paramref name="cachePath"/> when it holds the scores of this
    /// checkpoint (by its trainer.json step and path) on this many candidates, else computed and written there.
    /// An outcome model (trainer.json says so) reads its one-tag input.
    /// </summary>
    public static double[][] LoadOrScore(string cachePath, string checkpointDir, IReadOnlyList<BonProblem> sampled, int batchSize = 32)
    {
        int count = sampled.Sum(p => p.Candidates.Count);
        var stateFile = Path.Combine(checkpointDir, Runs.RunFolder.TrainerStateFile);
        string key = Path.GetFullPath(checkpointDir) + "|" + (File.Exists(stateFile) ? File.ReadAllText(stateFile) : "") + "|" + count + "|" +
                     string.Join(",", sampled.Take(3).Select(p => p.Problem.Id + ":" + p.Candidates[0].Response.Length));
        if (File.Exists(cachePath))
        {
            var lines = File.ReadAllLines(cachePath);
            if (lines.Length == count + 1 && lines[0] == JsonValue.Create(key)!.ToJsonString())
                return lines.Skip(1).Select(l => JsonNode.Parse(l)!.AsArray().Select(v => v!.GetValue<double>()).ToArray()).ToArray();
        }
        var model = MiniVlm.Load(checkpointDir, out var tokenizer);
        bool outcome = PrmTrainer.IsOutcomeModel(checkpointDir);
        var pixels = sampled.ToDictionary(p => p.Problem.Id, p => PolicyPrompt.Pixels(p.Problem));
        var inputs = sampled.SelectMany(p => p.Candidates.Select(c => PrmInput.Build(tokenizer, pixels[p.Problem.Id],
            PolicyPrompt.Encode(tokenizer, p.Problem), c.Solution, model.Config.MaxTextLen, outcome))).ToList();
        var scores = StepScores.Score(model, inputs, batchSize);
        var sb = new StringBuilder(JsonValue.Create(key)!.ToJsonString()).Append('\n');
        foreach (var s in scores) sb.Append(new JsonArray(s.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()).ToJsonString()).Append('\n');
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(cachePath))!);
        Runs.RunFolder.WriteAtomically(cachePath, sb.ToString());
        return scores;
    }

    /// <summary>
    /// The candidates scored by the PRM of the run folder <paramref name="prmRun"/> and the outcome model of
    /// <paramref name="ormRun"/>, each through its <c>bon-SPLIT-scores.jsonl</c> cache beside its checkpoint
    /// (<see cref="LoadOrScore"/>), the layout that notebook 06 and <c>mmeureka reproduce</c> share.
    /// </summary>
    public static IReadOnlyList<BonProblem> ScoredByRuns(IReadOnlyList<BonProblem> sampled, string prmRun, string ormRun, string split)
    {
        double[][] Scores(string run) => LoadOrScore(Path.Combine(run, $"bon-{split}-scores.jsonl"), Path.Combine(run, Runs.RunFolder.CheckpointFolder), sampled);
        return WithScores(sampled, Scores(prmRun), Scores(ormRun));
    }

    /// <summary>The candidates with the given step scores (flattened as <see cref="LoadOrScore"/> returns them) as
    /// their PRM scores, and optionally an outcome model's (its one score per candidate).</summary>
    public static IReadOnlyList<BonProblem> WithScores(IReadOnlyList<BonProblem> sampled, double[][] prm, double[][]? orm = null)
    {
        int at = 0;
        return sampled.Select(p => new BonProblem(p.Problem, p.Candidates.Select(c =>
        {
            var scored = c with { Prm = prm[at], Orm = orm is null ? null : orm[at].Length > 0 ? orm[at][0] : 0 };
            at++;
            return scored;
        }).ToList())).ToList();
    }

    /// <summary>Writes the candidates with their scores as JSON lines (one per candidate), through a temporary file.</summary>
    public static void Save(string path, IReadOnlyList<BonProblem> problems)
    {
        var sb = new StringBuilder();
        foreach (var p in problems)
            for (int s = 0; s < p.Candidates.Count; s++)
            {
                var c = p.Candidates[s];
                sb.Append(new JsonObject
                {
                    ["id"] = p.Problem.Id, ["sample"] = s, ["response"] = c.Response, ["correct"] = c.Correct, ["vote"] = c.Vote,
                    ["prm"] = new JsonArray(c.Prm.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()), ["orm"] = c.Orm,
                }.ToJsonString()).Append('\n');
            }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Runs.RunFolder.WriteAtomically(path, sb.ToString());
    }

    /// <summary>Reads candidates written by <see cref="Save"/>, joining them with <paramref name="problems"/> by id;
    /// errors name the file and line.</summary>
    public static IReadOnlyList<BonProblem> Load(string path, IReadOnlyList<Problem> problems)
    {
        var byId = problems.ToDictionary(p => p.Id);
        var groups = new Dictionary<string, List<BonCandidate>>();
        var order = new List<string>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Trim().Length == 0) continue;
            try
            {
                var o = JsonNode.Parse(line)!.AsObject();
                string id = o["id"]!.GetValue<string>();
                if (!byId.ContainsKey(id)) throw new FormatException($"problem {id} is not in the split loaded");
                string response = o["response"]!.GetValue<string>();
                var c = new BonCandidate(response, Solution.Parse(response), o["correct"]!.GetValue<bool>(), o["vote"]?.GetValue<string>(),
                    o["prm"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray(), o["orm"]?.GetValue<double>());
                if (!groups.TryGetValue(id, out var list)) { groups[id] = list = []; order.Add(id); }
                list.Add(c);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException or NullReferenceException)
            {
                throw new FormatException($"{path}:{lineNo}: {e.Message}", e);
            }
        }
        return order.Select(id => new BonProblem(byId[id], groups[id])).ToList();
    }
}
