using System.Diagnostics;
using System.Text.Json.Nodes;
using MMEureka.Data;
using MMEureka.Models;
using MMEureka.Runs;
using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Prm;

/// <summary>What the PRM trainer reports after every step.</summary>
/// <param name="Eval">Held-out metrics, when this step evaluated.</param>
public sealed record PrmProgress(int Step, int TotalSteps, double Loss, double LearningRate, double GradNorm,
    TimeSpan Elapsed, TimeSpan Eta, PrmMetrics? Eval);

/// <summary>How a PRM run ended.</summary>
/// <param name="Stopped">Why the run stopped early (non-finite loss or gradient), or null.</param>
public sealed record PrmResult(int Step, double Loss, string? Stopped, PrmMetrics? LastEval, string Checkpoint);

/// <summary>One training item: the PRM's input and one label per scored step.</summary>
public sealed record PrmItem(PrmExample Example, PrmInput Input, float[] Labels, float[] SoftLabels);

/// <summary>
/// Trains the process reward model (PAPERS.md section 3): MiniVlm loaded from a policy checkpoint, the vision tower
/// frozen, the loss of <see cref="StepScores.Loss"/> at every tag, AdamW with warmup and cosine decay. The run folder
/// (<see cref="RunFolder"/>) holds config.json, metrics.jsonl (one line per step and per evaluation: loss, lr,
/// gradient norm; held-out step BCE and ProcessBench F1) and checkpoint/ with the optimizer state and trainer.json.
/// The data order is a pure function of (seed, step), so a resumed run writes the same metrics as an uninterrupted one.
/// </summary>
public sealed class PrmTrainer
{
    private readonly PrmConfig _config;
    private readonly Tokenizer _tokenizer;
    private readonly IReadOnlyList<PrmItem> _train;
    private readonly IReadOnlyList<PrmItem> _eval;
    private readonly List<(string name, Tensor parameter)> _parameters;
    private readonly Torch.Modules.AdamW _optimizer;
    private readonly Dictionary<int, int[]> _epochs = [];

    /// <summary>The reward model being trained.</summary>
    public MiniVlm Model { get; }
    /// <summary>The run folder: config, metrics, checkpoint.</summary>
    public RunFolder Folder { get; }
    /// <summary>Folder of the latest checkpoint.</summary>
    public string CheckpointDir => Folder.CheckpointDir;
    /// <summary>metrics.jsonl of the run.</summary>
    public string MetricsPath => Folder.MetricsPath;
    /// <summary>True when the run folder holds a checkpoint of this configuration (resume continues or reuses it).</summary>
    public bool HasCompatibleCheckpoint => Folder.HasCompatibleCheckpoint;
    /// <summary>Training items (paths with at least one scored step).</summary>
    public IReadOnlyList<PrmItem> TrainItems => _train;
    /// <summary>Held-out items.</summary>
    public IReadOnlyList<PrmItem> EvalItems => _eval;

    /// <summary>
    /// Sets up a run on <paramref name="examples"/> (read from <paramref name="dataPath"/>, recorded in config.json),
    /// with the weights of the policy checkpoint <paramref name="initCheckpoint"/>.
    /// </summary>
    public PrmTrainer(PrmConfig config, IReadOnlyList<PrmExample> examples, string dataPath, string initCheckpoint, string runDir)
    {
        _config = config.Validate();
        Model = MiniVlm.Load(initCheckpoint, out _tokenizer);
        if (config.MaxExamples > 0) examples = examples.Take(config.MaxExamples).ToList();
        var (train, eval) = PrmData.Split(examples, config.EvalFraction, config.Seed);
        _train = Items(train);
        _eval = Items(eval);
        if (_train.Count == 0) throw new ArgumentException($"{dataPath}: no training paths with a scored step{(config.Outcome ? " and a final answer" : "")}");
        Folder = new RunFolder(runDir, config.ToJson(dataPath, initCheckpoint));
        // The vision tower stays as the policy left it (MM-PRM freezes the vision encoder) unless the ablation asks.
        _parameters = Model.TrainableParameters(config.TrainVision);
        // beta2 0.95 as in SFT: a short run on a small model, where the second moment should follow the gradients quickly.
        _optimizer = optim.AdamW(_parameters.Select(p => p.parameter), config.LearningRate, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: config.WeightDecay);
    }

    private List<PrmItem> Items(IReadOnlyList<PrmExample> examples)
    {
        var pixels = new Dictionary<string, float[]>();
        var items = new List<PrmItem>(examples.Count);
        foreach (var e in examples)
        {
            var path = e.Path;
            if (_config.Outcome && path.Answer == null) continue;
            if (!pixels.TryGetValue(e.Problem.Id, out var px)) pixels[e.Problem.Id] = px = PolicyPrompt.Pixels(e.Problem);
            var input = PrmInput.Build(_tokenizer, px, PolicyPrompt.Encode(_tokenizer, e.Problem), path.Solution, Model.Config.MaxTextLen, _config.Outcome);
            if (input.ScoredSteps == 0) continue;
            IReadOnlyList<double> soft = _config.Outcome ? [path.Labels[^1]] : path.Labels;
            IReadOnlyList<double> chosen = _config.Labels == PrmLabels.Hard ? soft.Select(l => l > 0 ? 1.0 : 0.0).ToList() : soft;
            items.Add(new PrmItem(e, input, chosen.Take(input.ScoredSteps).Select(l => (float)l).ToArray(),
                soft.Take(input.ScoredSteps).Select(l => (float)l).ToArray()));
        }
        return items;
    }

    /// <summary>
    /// Trains up to config.Steps (or until <paramref name="stopAfter"/> steps are done, then checkpoints). With
    /// <paramref name="resume"/> the run continues from its checkpoint; otherwise the folder must not hold one (or
    /// <paramref name="overwrite"/> clears it). A non-finite loss or gradient norm stops the run, naming the step,
    /// and leaves the last good checkpoint untouched.
    /// </summary>
    public PrmResult Run(bool resume = false, int? stopAfter = null, Action<PrmProgress>? progress = null, bool overwrite = false)
    {
        int step = 0;
        double loss = double.NaN;
        if (resume) (step, loss) = Restore();
        else Folder.Start(overwrite);
        int last = Math.Min(_config.Steps, stopAfter ?? int.MaxValue);
        var schedule = optim.lr_scheduler.warmup_cosine(_config.WarmupSteps, _config.Steps, _config.MinLrRatio);
        var clock = Stopwatch.StartNew();
        int firstStep = step;
        PrmMetrics? lastEval = null;
        string? stopped = null;
        using var metrics = Folder.OpenLog();

        while (step < last)
        {
            int next = step + 1;
            double lr = _config.LearningRate * schedule(step);
            _optimizer.param_groups[0].lr = lr;
            var batch = BatchIndices(step).Select(i => _train[i]).ToList();
            _optimizer.zero_grad();
            var margins = StepScores.Margins(Model, batch.Select(b => b.Input).ToList());
            var objective = StepScores.Loss(margins, batch.SelectMany(b => b.Labels).ToList());
            double value = objective.item<float>();
            if (!double.IsFinite(value)) { stopped = $"loss became {value} at step {next}"; break; }
            objective.backward();
            double gradNorm = nn.utils.clip_grad_norm_(_parameters.Select(p => p.parameter), _config.GradClip);
            if (!double.IsFinite(gradNorm)) { stopped = $"gradient norm became {gradNorm} at step {next}"; break; }
            _optimizer.step();
            step = next;
            loss = value;
            RunFolder.WriteLine(metrics, new JsonObject { ["step"] = step, ["loss"] = loss, ["lr"] = lr, ["grad_norm"] = gradNorm });

            PrmMetrics? eval = null;
            if (_eval.Count > 0 && ((_config.EvalEvery > 0 && step % _config.EvalEvery == 0) || step == _config.Steps))
            {
                eval = lastEval = Evaluate();
                var line = new JsonObject { ["step"] = step };
                foreach (var (key, v) in EvalFields(eval))
                    if (double.IsFinite(v)) line[key] = v;
                RunFolder.WriteLine(metrics, line);
            }
            if (step % _config.CheckpointEvery == 0 || step == last) SaveCheckpoint(step);
            var elapsed = clock.Elapsed;
            progress?.Invoke(new PrmProgress(step, _config.Steps, loss, lr, gradNorm, elapsed,
                TimeSpan.FromSeconds(elapsed.TotalSeconds / (step - firstStep) * (last - step)), eval));
        }
        return new PrmResult(step, loss, stopped, lastEval, CheckpointDir);
    }

    /// <summary>The metrics.jsonl keys of an evaluation.</summary>
    public static IEnumerable<(string key, double value)> EvalFields(PrmMetrics m) =>
    [
        ("eval_bce", m.StepBce), ("eval_f1", m.F1), ("eval_acc_wrong", m.WrongAccuracy), ("eval_acc_correct", m.CorrectAccuracy),
        ("eval_paths", m.Paths),
    ];

    /// <summary>Step BCE (against the soft labels) and ProcessBench F1 on the held-out paths.</summary>
    public PrmMetrics Evaluate()
    {
        var scores = StepScores.Score(Model, _eval.Select(e => e.Input).ToList());
        return PrmMetrics.Compute(scores, _eval.Select(e => (IReadOnlyList<double>)e.SoftLabels.Select(l => (double)l).ToList()).ToList());
    }

    /// <summary>Indices of the training items of step <paramref name="step"/> (0-based): consecutive slices of a
    /// permutation per epoch drawn from (seed, epoch), a pure function of (seed, step) so that resuming is exact.</summary>
    public int[] BatchIndices(int step)
    {
        int n = _train.Count, b = _config.BatchSize;
        var result = new int[b];
        for (int i = 0; i < b; i++)
        {
            long k = (long)step * b + i;
            int epoch = (int)(k / n);
            if (!_epochs.TryGetValue(epoch, out var perm))
            {
                if (_epochs.Count > 2) _epochs.Clear();
                _epochs[epoch] = perm = Permutation(n, EpochSeed(_config.Seed, epoch));
            }
            result[i] = perm[k % n];
        }
        return result;
    }

    // The seed of one epoch's order: the run seed and the epoch mixed by SplitMix64 (no arithmetic collisions
    // between nearby seeds and epochs).
    private static long EpochSeed(long seed, int epoch) => (long)Rng.Mix(Rng.Mix((ulong)seed) ^ (ulong)epoch);

    private static int[] Permutation(int n, long seed)
    {
        var g = new Generator(seed);
        var perm = Enumerable.Range(0, n).ToArray();
        for (int j = n - 1; j > 0; j--)
        {
            int r = g.NextInt(j + 1);
            (perm[j], perm[r]) = (perm[r], perm[j]);
        }
        return perm;
    }

    /// <summary>True when the checkpoint was trained as an outcome reward model (its trainer.json says so), so that
    /// scoring builds its one-tag input.</summary>
    public static bool IsOutcomeModel(string checkpointDir)
    {
        var path = Path.Combine(checkpointDir, RunFolder.TrainerStateFile);
        if (!File.Exists(path)) return false;
        return (JsonNode.Parse(File.ReadAllText(path)) as JsonObject)?["outcome"]?.GetValue<bool>() ?? false;
    }

    private void SaveCheckpoint(int step) => Model.Save(CheckpointDir, _tokenizer, dir =>
    {
        _optimizer.save_state(Path.Combine(dir, "optimizer.safetensors"), _parameters);
        RunFolder.WriteTrainerState(dir, step, _config.Seed, new JsonObject
        {
            ["kind"] = _config.Outcome ? "orm" : "prm", ["outcome"] = _config.Outcome, ["labels"] = _config.Labels.ToString().ToLowerInvariant(),
        });
    });

    private (int step, double loss) Restore()
    {
        int step = Folder.StateStep(Folder.Resume(_config.Seed));
        var saved = MiniVlm.Load(CheckpointDir);
        if (saved.Config != Model.Config) throw new InvalidDataException($"{CheckpointDir}: model shape differs from the initial checkpoint's");
        Model.load_state_dict(saved.state_dict());
        _optimizer.load_state(Path.Combine(CheckpointDir, "optimizer.safetensors"), _parameters);
        var last = RunFolder.ReadMetrics(MetricsPath).LastOrDefault(r => r.key == "loss");
        return (step, last.key == null ? double.NaN : last.value);
    }
}
