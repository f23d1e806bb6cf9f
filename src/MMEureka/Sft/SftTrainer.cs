using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MMEureka.Data;
using MMEureka.Eval;
using MMEureka.Models;
using MMEureka.Runs;
using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Sft;

/// <summary>What the trainer reports after every step (for progress bars and notebooks).</summary>
/// <param name="EvalLoss">Response-token cross-entropy on the evaluation problems, when this step evaluated.</param>
public sealed record SftProgress(int Step, int TotalSteps, double Loss, double LearningRate, double GradNorm,
    double TokensPerSecond, TimeSpan Elapsed, TimeSpan Eta, EvalReport? Eval, double? EvalLoss = null);

/// <summary>How a run ended.</summary>
/// <param name="Step">Last completed step.</param>
/// <param name="Loss">Loss of the last completed step.</param>
/// <param name="Stopped">Why the run stopped early (non-finite loss), or null.</param>
/// <param name="LastEval">The last evaluation, if any.</param>
/// <param name="Checkpoint">Folder of the last good checkpoint.</param>
public sealed record SftResult(int Step, double Loss, string? Stopped, EvalReport? LastEval, string Checkpoint);

/// <summary>
/// Supervised fine-tuning of the policy on gold solutions: the loss is the mean cross-entropy of response tokens
/// only (prompt and padding carry none). With config.Vision.Steps &gt; 0 a stage 1 (<see cref="VisionPretraining"/>)
/// trains the vision tower alone first and logs to vision.jsonl. A run folder holds config.json, metrics.jsonl (one
/// JSON object per step and per evaluation, no timings, so a resumed run writes the same bytes) and checkpoint/ (model, tokenizer,
/// optimizer.safetensors and trainer.json with the step). The data order is a pure function of (seed, step), so
/// step + weights + optimizer moments are the whole state needed to resume.
/// </summary>
public sealed class SftTrainer
{
    private readonly SftConfig _config;
    private readonly Tokenizer _tokenizer;
    private readonly IReadOnlyList<Problem> _train;
    private readonly IReadOnlyList<Problem> _eval;
    private readonly List<(string name, Torch.Tensor parameter)> _parameters;
    private readonly Torch.Modules.AdamW _optimizer;
    private readonly Dictionary<int, int[][]> _epochs = [];
    private readonly int[] _lengths;
    private readonly double[] _lrScales;

    /// <summary>The policy being trained.</summary>
    public MiniVlm Model { get; }

    /// <summary>The run folder: config, metrics, checkpoint.</summary>
    public RunFolder Folder { get; }

    /// <summary>Run folder.</summary>
    public string RunDir => Folder.Dir;

    /// <summary>Folder of the latest checkpoint.</summary>
    public string CheckpointDir => Folder.CheckpointDir;

    /// <summary>True when the run folder holds a checkpoint made with this trainer's configuration (so
    /// <c>Run(resume: true)</c> continues it, or reuses it when it has finished).</summary>
    public bool HasCompatibleCheckpoint => Folder.HasCompatibleCheckpoint;

    /// <summary>metrics.jsonl of the run.</summary>
    public string MetricsPath => Folder.MetricsPath;

    /// <summary>Sets up a run: a fresh model from config.Seed, AdamW over all parameters.</summary>
    public SftTrainer(SftConfig config, IReadOnlyList<Problem> train, IReadOnlyList<Problem> eval, string runDir, Tokenizer? tokenizer = null)
    {
        _config = config.Validate();
        _tokenizer = tokenizer ?? new Tokenizer();
        _train = config.TrainProblems > 0 ? train.Take(config.TrainProblems).ToList() : train;
        if (_train.Count == 0) throw new ArgumentException("no training problems");
        _eval = eval.Take(config.EvalProblems).ToList();
        _lengths = _train.Select(p => p.Question.Length + Problem.TokenCount(p.GoldResponse)).ToArray();
        Folder = new RunFolder(runDir, _config.ToJson());
        Model = new MiniVlm(config.Model, config.Seed);
        // A frozen tower (VisionLrScale 0) is left out of the optimizer and of its saved state.
        _parameters = Model.named_parameters().Where(p => !(IsVision(p.name) && config.VisionLrScale == 0)).ToList();
        var groups = new[]
        {
            new optim.ParamGroup(_parameters.Where(p => !IsVision(p.name)).Select(p => p.parameter)),
            new optim.ParamGroup(_parameters.Where(p => IsVision(p.name)).Select(p => p.parameter)),
        };
        _lrScales = [1, config.VisionLrScale];
        // beta2 0.95: the usual choice for small transformers trained briefly (nanoGPT); state saved for exact resume.
        _optimizer = optim.AdamW(groups, config.LearningRate, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: config.WeightDecay);
    }

    private static bool IsVision(string parameterName) => parameterName.StartsWith("vision.", StringComparison.Ordinal);

    /// <summary>Stage 1's log in the run folder: one JSON object per step (loss) and per evaluation (accuracy per slot).</summary>
    public string VisionLogPath => Path.Combine(RunDir, VisionLog);

    private const string VisionLog = "vision.jsonl";

    /// <summary>
    /// Trains up to config.Steps (or until <paramref name="stopAfter"/> steps are done, then checkpoints). With
    /// <paramref name="resume"/> the run continues from its checkpoint; otherwise the run folder must not hold one
    /// (or <paramref name="overwrite"/> clears it). A non-finite loss or gradient norm stops the run, naming the
    /// step, and leaves the last good checkpoint untouched.
    /// </summary>
    public SftResult Run(bool resume = false, int? stopAfter = null, Action<SftProgress>? progress = null, bool overwrite = false,
        Action<VisionProgress>? visionProgress = null)
    {
        int step = 0;
        double loss = double.NaN;
        if (resume) (step, loss) = Restore();
        else Folder.Start(overwrite, VisionLog);
        if (!resume && _config.Vision.Steps > 0)
        {
            // Stage 1, then a checkpoint at step 0: a resumed run starts SFT from the pre-trained tower.
            using (var visionLog = new StreamWriter(VisionLogPath))
                new VisionPretraining(Model, _train, _config.Seed)
                    .Train(_config.Vision, _train, _eval, _config.Seed, line => WriteLine(visionLog, line), visionProgress);
            SaveCheckpoint(0);
        }
        if (_config.VisionLrScale == 0)
            foreach (var p in Model.vision.parameters()) p.requires_grad_(false);

        int last = Math.Min(_config.Steps, stopAfter ?? int.MaxValue);
        var schedule = optim.lr_scheduler.warmup_cosine(_config.WarmupSteps, _config.Steps, _config.MinLrRatio);
        var clock = Stopwatch.StartNew();
        int firstStep = step;
        long tokens = 0;
        EvalReport? lastEval = null;
        string? stopped = null;
        using var metrics = Folder.OpenLog();

        while (step < last)
        {
            int next = step + 1;
            double lr = _config.LearningRate * schedule(step);
            for (int g = 0; g < _lrScales.Length; g++) _optimizer.param_groups[g].lr = lr * _lrScales[g];
            var batch = BatchIndices(step).Select(i => _train[i]).ToList();
            var prompts = batch.Select(p => PolicyPrompt.Encode(_tokenizer, p)).ToList();
            var responses = batch.Select(p => PolicyPrompt.GoldResponse(_tokenizer, p)).ToList();
            var pixels = batch.Select(p => PolicyPrompt.Pixels(p)).ToList();

            _optimizer.zero_grad();
            var (objective, value) = Objective(Model, batch, pixels, prompts, responses, _config.ReadingWeight);
            if (!double.IsFinite(value)) { stopped = $"loss became {value} at step {next}"; break; }
            objective.backward();
            double gradNorm = nn.utils.clip_grad_norm_(_parameters.Select(p => p.parameter), _config.GradClip);
            if (!double.IsFinite(gradNorm)) { stopped = $"gradient norm became {gradNorm} at step {next}"; break; }
            _optimizer.step();
            step = next;
            loss = value;
            tokens += prompts.Sum(p => p.Length) + responses.Sum(r => r.Length);
            WriteLine(metrics, new JsonObject { ["step"] = step, ["loss"] = loss, ["lr"] = lr, ["grad_norm"] = gradNorm });

            EvalReport? eval = null;
            double? evalLoss = null;
            if (_eval.Count > 0 && ((_config.EvalEvery > 0 && step % _config.EvalEvery == 0) || step == _config.Steps))
            {
                evalLoss = EvalLoss();
                eval = lastEval = Evaluator.Run(Model, _tokenizer, _eval, new EvalConfig { MaxNewTokens = _config.MaxNewTokens });
                WriteLine(metrics, new JsonObject
                {
                    ["step"] = step, ["eval_loss"] = evalLoss, ["eval_accuracy"] = eval.Accuracy, ["eval_format"] = eval.FormatRate,
                    ["eval_problems"] = _eval.Count,
                });
            }
            if (step % _config.CheckpointEvery == 0 || step == last) SaveCheckpoint(step);

            var elapsed = clock.Elapsed;
            int done = step - firstStep;
            progress?.Invoke(new SftProgress(step, _config.Steps, loss, lr, gradNorm, tokens / Math.Max(elapsed.TotalSeconds, 1e-9),
                elapsed, TimeSpan.FromSeconds(elapsed.TotalSeconds / done * (last - step)), eval, evalLoss));
        }
        return new SftResult(step, loss, stopped, lastEval, CheckpointDir);
    }

    /// <summary>
    /// The SFT objective of one batch: a weighted mean of response-token cross-entropies, with weight
    /// <paramref name="readingWeight"/> on the digits of the first solution step (the values read off the image,
    /// <see cref="TokenRole.ReadingDigit"/>) and 1 on every other response token; weight 1 is the plain token mean.
    /// Also returns the plain token mean (what metrics.jsonl logs as <c>loss</c>, comparable with <c>eval_loss</c>
    /// whatever the weight).
    /// </summary>
    public static (Tensor objective, double meanNll) Objective(MiniVlm model, IReadOnlyList<Problem> problems,
        IReadOnlyList<float[]> pixels, IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> responses, double readingWeight)
    {
        var (logProbs, mask) = PolicyLogProbs.Compute(model, pixels, prompts, responses);
        int lmax = (int)logProbs.size(1);
        var weights = new float[mask.Length];
        for (int r = 0; r < problems.Count; r++)
        {
            var roles = readingWeight == 1 ? null : LossBreakdown.Roles(problems[r]);
            for (int k = 0; k < responses[r].Length; k++)
                weights[r * lmax + k] = roles?[k] == TokenRole.ReadingDigit ? (float)readingWeight : 1f;
        }
        var w = tensor(weights, logProbs.shape);
        var objective = -(logProbs * w).sum() / weights.Sum();
        var lp = logProbs.data<float>();
        double sum = 0, count = 0;
        for (int i = 0; i < lp.Length; i++) { sum -= lp[i] * mask[i]; count += mask[i]; }
        return (objective, sum / count);
    }

    /// <summary>
    /// Mean response-token cross-entropy of the gold solutions of the evaluation problems (teacher forced, no
    /// gradients): the smooth companion of greedy accuracy, which moves in coarse jumps on 100 problems.
    /// Weighted by tokens, so it is the same quantity as the training loss.
    /// </summary>
    public double EvalLoss()
    {
        if (_eval.Count == 0) return double.NaN;
        var roles = LossBreakdown.Run(Model, _tokenizer, _eval);
        return roles.Sum(r => r.MeanNll * r.Tokens) / roles.Sum(r => r.Tokens);
    }

    /// <summary>
    /// Indices of the training problems of step <paramref name="step"/> (0-based). Each epoch is a permutation
    /// drawn from (seed, epoch), cut into windows of 4 batches; inside a window problems are sorted by length
    /// before being cut into batches (less padding), and the window's batches are shuffled. A pure function of
    /// (seed, step): this is what makes resuming exact without saving a random state.
    /// </summary>
    public int[] BatchIndices(int step)
    {
        int perEpoch = Math.Max(1, _train.Count / _config.BatchSize);
        int epoch = step / perEpoch;
        if (!_epochs.TryGetValue(epoch, out var batches))
        {
            if (_epochs.Count > 2) _epochs.Clear();
            _epochs[epoch] = batches = EpochBatches(epoch, perEpoch);
        }
        return batches[step % perEpoch];
    }

    private int[][] EpochBatches(int epoch, int perEpoch)
    {
        int n = _train.Count, b = _config.BatchSize;
        var g = new Generator(_config.Seed * 7919 + epoch);
        var perm = Enumerable.Range(0, n).ToArray();
        Seeds.Shuffle(perm, g);
        var batches = new int[perEpoch][];
        const int window = 4;
        for (int w = 0; w < perEpoch; w += window)
        {
            int count = Math.Min(window, perEpoch - w);
            // A batch larger than the data repeats problems (tiny runs); otherwise the window is a slice of perm.
            var items = Enumerable.Range(w * b, count * b).Select(k => perm[k % n])
                .OrderBy(i => _lengths[i]).ThenBy(i => i).ToArray();
            var order = Enumerable.Range(0, count).ToArray();
            Seeds.Shuffle(order, g);
            for (int j = 0; j < count; j++) batches[w + order[j]] = items[(j * b)..((j + 1) * b)];
        }
        return batches;
    }

    private void SaveCheckpoint(int step)
    {
        Model.Save(CheckpointDir, _tokenizer, dir =>
        {
            _optimizer.save_state(Path.Combine(dir, "optimizer.safetensors"), _parameters);
            RunFolder.WriteTrainerState(dir, step, _config.Seed);
        });
    }

    /// <summary>Loads weights, optimizer state and step from the checkpoint; drops metrics lines written after it.
    /// Returns the step and the loss logged at it.</summary>
    private (int step, double loss) Restore()
    {
        int step = Folder.StateStep(Folder.Resume(_config.Seed));
        var saved = MiniVlm.Load(CheckpointDir);
        if (saved.Config != _config.Model) throw new InvalidDataException($"{CheckpointDir}: model shape differs from the config's");
        Model.load_state_dict(saved.state_dict());
        _optimizer.load_state(Path.Combine(CheckpointDir, "optimizer.safetensors"), _parameters);
        var last = RunFolder.ReadMetrics(MetricsPath).LastOrDefault(r => r.key == "loss");
        return (step, last.key == null ? double.NaN : last.value);
    }

    private static void WriteLine(StreamWriter writer, JsonObject line) => RunFolder.WriteLine(writer, line);

    /// <summary>Reads metrics.jsonl into (step, key, value) rows, for charts.</summary>
    public static IReadOnlyList<(int step, string key, double value)> ReadMetrics(string path) => RunFolder.ReadMetrics(path);
}
