using System.Diagnostics;
using System.Text.Json.Nodes;
using MMEureka.Data;
using MMEureka.Eval;
using MMEureka.Models;
using MMEureka.Runs;
using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Rl;

/// <summary>What the trainer reports after every step (progress bars, notebooks).</summary>
public sealed record RlProgress(int Step, int TotalSteps, JsonObject Metrics, TimeSpan Elapsed, TimeSpan Eta);

/// <summary>How a run ended: the last completed step, why it stopped early (or null), the last evaluation.</summary>
public sealed record RlResult(int Step, string? Stopped, EvalReport? LastEval, EvalReport? LastOodEval, string Checkpoint);

/// <summary>
/// Rule-based RL on the policy (MM-Eureka, CPGD): per step, sample G responses to each of a batch of prompts,
/// score them by the rule rewards, optionally filter groups by accuracy, turn rewards into advantages, then take
/// <c>epochs x mini_batches</c> AdamW steps on the policy objective. The vision tower stays frozen (MM-Eureka).
/// The run folder (<see cref="RunFolder"/>) holds config.json, metrics.jsonl (one line per step and per
/// evaluation; the <c>time_*</c> keys are the only ones that differ between a run and its resumed twin),
/// samples.jsonl and checkpoint/. Prompts, draws and minibatch order are pure functions of (seed, step), so the
/// weights and optimizer state are all a resume needs.
/// </summary>
public sealed class RlTrainer
{
    private readonly RlConfig _c;
    private readonly Tokenizer _tokenizer;
    private readonly IReadOnlyList<Problem> _train, _test, _ood;
    private readonly List<(string name, Tensor parameter)> _parameters;
    private readonly Torch.Modules.AdamW _optimizer;
    private readonly MiniVlm? _reference;

    /// <summary>The policy being trained.</summary>
    public MiniVlm Model { get; }
    /// <summary>The run folder.</summary>
    public RunFolder Folder { get; }

    /// <summary>Sets up a run from the checkpoint <paramref name="init"/> (the SFT policy, which is also the
    /// reference of the optional KL term).</summary>
    public RlTrainer(RlConfig config, string init, IReadOnlyList<Problem> train, IReadOnlyList<Problem> test,
        IReadOnlyList<Problem> ood, string runDir)
    {
        _c = config.Validate();
        Model = MiniVlm.Load(init, out _tokenizer);
        _train = config.TrainProblems > 0 ? train.Take(config.TrainProblems).ToList() : train;
        if (_train.Count == 0) throw new ArgumentException("no training problems");
        _test = test.Take(config.EvalProblems).ToList();
        _ood = config.EvalOod ? ood.Take(config.EvalProblems).ToList() : [];
        var json = JsonNode.Parse(config.ToJson())!.AsObject();
        // Written only when on, so that run folders made before the switch existed still match (resume, sweeps, reproduce).
        if (!config.TrainVision) json.Remove("train_vision");
        // A resumed (or reused) run must start from the same policy: its weights' hash, not its path, so that a run
        // folder stays valid when the project is moved or cloned.
        json["init_sha256"] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            File.ReadAllBytes(Path.Combine(init, MiniVlm.WeightsFile)))).ToLowerInvariant();
        Folder = new RunFolder(runDir, json.ToJsonString(new() { WriteIndented = true }));
        _parameters = Model.TrainableParameters(config.TrainVision);
        // betas (0.9, 0.95): OpenRLHF's defaults, which MM-Eureka's and CPGD's scripts keep.
        _optimizer = optim.AdamW(_parameters.Select(p => p.parameter), config.LearningRate, beta1: 0.9, beta2: 0.95, eps: 1e-8,
            weight_decay: config.WeightDecay);
        if (config.Loss.KlCoef > 0) _reference = MiniVlm.Load(init);
    }

    /// <summary>
    /// Trains up to config.Steps (or <paramref name="stopAfter"/> steps, then checkpoints). <paramref name="resume"/>
    /// continues from the run folder's checkpoint; otherwise a folder holding a run is refused unless
    /// <paramref name="overwrite"/>. A non-finite loss or gradient stops the run naming the step; the last good
    /// checkpoint stays.
    /// </summary>
    public RlResult Run(bool resume = false, int? stopAfter = null, Action<RlProgress>? progress = null, bool overwrite = false)
    {
        int step = 0;
        if (resume) step = Restore();
        else Folder.Start(overwrite, "samples.jsonl");
        using var metrics = Folder.OpenLog();
        using var samples = Folder.OpenLog("samples.jsonl");
        EvalReport? lastEval = null, lastOod = null;
        if (!resume) (lastEval, lastOod) = Evaluate(0, metrics); // the SFT start, for the curves

        int last = Math.Min(_c.Steps, stopAfter ?? int.MaxValue);
        var clock = Stopwatch.StartNew();
        int first = step;
        string? stopped = null;
        while (step < last)
        {
            int next = step + 1;
            var line = new JsonObject { ["step"] = next };
            var sampleClock = Stopwatch.StartNew();
            var (groups, kept, filtered, rounds) = CollectBatch(step);
            double tSample = sampleClock.Elapsed.TotalSeconds;
            RolloutMetrics(groups, line);
            line["groups_kept"] = kept;
            line["groups_filtered"] = filtered;
            line["sampling_rounds"] = rounds;
            LogSamples(samples, next, groups);

            var trainClock = Stopwatch.StartNew();
            if (groups.Count > 0) stopped = Update(step, groups, line);
            else line["skipped"] = 1; // every group filtered: nothing to learn from this step
            if (stopped != null) break;
            line["time_sampling"] = tSample;
            line["time_training"] = trainClock.Elapsed.TotalSeconds;
            RunFolder.WriteLine(metrics, line);
            step = next;

            if ((_c.EvalEvery > 0 && step % _c.EvalEvery == 0) || step == _c.Steps)
            {
                var (t, o) = Evaluate(step, metrics);
                lastEval = t ?? lastEval;
                lastOod = o ?? lastOod;
                line["eval_accuracy"] = t?.Accuracy;
                line["eval_ood_accuracy"] = o?.Accuracy;
            }
            if (step % _c.CheckpointEvery == 0 || step == last) SaveCheckpoint(step);
            var elapsed = clock.Elapsed;
            progress?.Invoke(new RlProgress(step, _c.Steps, line, elapsed,
                TimeSpan.FromSeconds(elapsed.TotalSeconds / (step - first) * (last - step))));
        }
        return new RlResult(step, stopped, lastEval, lastOod, Folder.CheckpointDir);
    }

    /// <summary>
    /// The rollout batch of a step: rounds of <c>prompts_per_step</c> prompts drawn from (seed, step, round), G
    /// responses each; with the filter on, kept groups accumulate until the batch is full or the rounds run out.
    /// </summary>
    private (List<List<Rollout>> groups, int kept, int filtered, int rounds) CollectBatch(int step)
    {
        var filter = new OnlineFilter(_c.FilterLow, _c.FilterHigh);
        var sampling = new SamplingConfig { Temperature = _c.Temperature, MaxNewTokens = _c.MaxNewTokens };
        var batch = new List<List<Rollout>>();
        int filtered = 0, round = 0;
        while (batch.Count < _c.PromptsPerStep && round < (_c.Filter ? _c.MaxFilterRounds : 1))
        {
            var g = new Generator(Seeds.Derive(_c.Seed, "rl-prompts", step, round));
            var problems = Enumerable.Range(0, _c.PromptsPerStep).Select(_ => _train[g.NextInt(_train.Count)]).ToList();
            var groups = Rollouts.SampleGroups(Model, _tokenizer, problems, _c.GroupSize, sampling,
                Seeds.Derive(_c.Seed, "rl-rollouts", step, round));
            round++;
            foreach (var group in groups)
            {
                if (batch.Count == _c.PromptsPerStep) break;
                if (!_c.Filter || filter.Keep(group)) batch.Add(group);
                else filtered++;
            }
        }
        return (batch, batch.Count, filtered, round);
    }

    /// <summary>Advantages, then epochs x minibatches of AdamW steps. Returns why it stopped, or null.</summary>
    private string? Update(int step, List<List<Rollout>> groups, JsonObject line)
    {
        var rewards = groups.Select(g => (IReadOnlyList<double>)g.Select(r => r.Reward).ToList()).ToList();
        var lengths = groups.Select(g => (IReadOnlyList<int>)g.Select(r => r.Response.Length).ToList()).ToList();
        var adv = Advantages.Compute(_c.Estimator, rewards, lengths, _c.COmega);
        var rollouts = groups.SelectMany(g => g).ToList();
        var rowAdv = adv.SelectMany(a => a).ToArray();
        var groupOf = groups.SelectMany((g, i) => g.Select(_ => i)).ToArray();
        line["advantage_abs_mean"] = rowAdv.Average(Math.Abs);
        // pi_old of every token: the sampling log-probs (they equal a recomputation to ~1e-6: logprob_mismatch_max).
        var old = rollouts.Select(r => r.LogProbs).ToArray();
        var weightIs = rollouts.Select(r => Enumerable.Repeat(1f, r.Response.Length).ToArray()).ToArray();

        var stats = new List<LossStats>();
        double gradNorm = 0, lossSum = 0, mismatch = double.NaN;
        // --profile's split: forward passes that recompute log-probs (policy, reference, truncated IS) vs the update.
        var forwardClock = new Stopwatch();
        var updateClock = new Stopwatch();
        int updates = 0;
        for (int epoch = 0; epoch < _c.Epochs; epoch++)
        {
            if (epoch > 0 && _c.TruncatedIs)
            {
                // CPGD's truncated importance weight: pi_{m-1} (the policy now) becomes the loss's old policy, and the
                // advantage is weighted by clip(pi_{m-1} / pi_old, 1-eps, 1+eps).
                forwardClock.Start();
                var prev = LogProbsNoGrad(rollouts);
                forwardClock.Stop();
                for (int r = 0; r < rollouts.Count; r++)
                    for (int k = 0; k < prev[r].Length; k++)
                        weightIs[r][k] = (float)Math.Clamp(Math.Exp(prev[r][k] - rollouts[r].LogProbs[k]), 1 - _c.Loss.Eps, 1 + _c.Loss.Eps);
                old = prev;
            }
            var order = Enumerable.Range(0, groups.Count).ToArray();
            Seeds.Shuffle(order, new Generator(Seeds.Derive(_c.Seed, "rl-minibatches", step, epoch)));
            int per = (int)Math.Ceiling(groups.Count / (double)_c.MiniBatches);
            for (int m = 0; m * per < order.Length; m++)
            {
                var rows = order.Skip(m * per).Take(per).SelectMany(gi => Enumerable.Range(0, groupOf.Length).Where(r => groupOf[r] == gi)).ToList();
                _optimizer.zero_grad();
                var batch = rows.Select(r => rollouts[r]).ToList();
                forwardClock.Start();
                var (logp, mask) = PolicyLogProbs.Compute(Model, batch.Select(r => PolicyPrompt.Pixels(r.Problem)).ToList(),
                    batch.Select(r => r.Prompt).ToList(), batch.Select(r => r.Response).ToList(), _c.Temperature);
                int lmax = (int)logp.size(1);
                var oldFlat = new float[rows.Count * lmax];
                var advFlat = new float[rows.Count * lmax];
                float[]? refFlat = _reference != null ? new float[rows.Count * lmax] : null;
                float[][]? refRows = _reference != null ? LogProbsNoGrad(batch, _reference) : null;
                forwardClock.Stop();
                updateClock.Start();
                for (int i = 0; i < rows.Count; i++)
                    for (int k = 0; k < batch[i].Response.Length; k++)
                    {
                        oldFlat[i * lmax + k] = old[rows[i]][k];
                        advFlat[i * lmax + k] = (float)rowAdv[rows[i]] * weightIs[rows[i]][k];
                        if (refFlat != null) refFlat[i * lmax + k] = refRows![i][k];
                    }
                if (epoch == 0 && m == 0) mismatch = MaxMismatch(logp, batch, lmax); // before any update: same weights
                var (loss, s) = PolicyLoss.Compute(_c.Objective, _c.Loss, _c.Aggregation, logp, oldFlat, advFlat, mask,
                    batch.Select(r => r.Response.Length).ToList(), rows.Select(r => groupOf[r]).ToList(), _c.MaxNewTokens, refFlat);
                double value = loss.item<float>();
                if (!double.IsFinite(value)) return $"loss became {value} at step {step + 1}";
                loss.backward();
                double norm = nn.utils.clip_grad_norm_(_parameters.Select(p => p.parameter), _c.GradClip);
                if (!double.IsFinite(norm)) return $"gradient norm became {norm} at step {step + 1}";
                _optimizer.step();
                updateClock.Stop();
                stats.Add(s);
                gradNorm += norm;
                lossSum += value;
                updates++;
            }
        }
        double tokens = stats.Sum(s => s.Tokens);
        double Mean(Func<LossStats, double> f) => stats.Sum(s => f(s) * s.Tokens) / tokens;
        line["loss"] = lossSum / updates;
        line["grad_norm"] = gradNorm / updates;
        line["clip_ratio_low"] = Mean(s => s.ClipLow);
        line["clip_ratio_high"] = Mean(s => s.ClipHigh);
        line["clip_ratio"] = Mean(s => s.ClipLow + s.ClipHigh);
        line["ratio_mean"] = Mean(s => s.RatioMean);
        line["ratio_max"] = stats.Max(s => s.RatioMax);
        line["ratio_min"] = stats.Min(s => s.RatioMin);
        line["policy_drift_kl"] = Mean(s => s.DriftKl);
        if (_reference != null) line["kl"] = Mean(s => s.RefKl);
        line["logprob_mismatch_max"] = mismatch;
        line["time_logprobs"] = forwardClock.Elapsed.TotalSeconds;
        line["time_update"] = updateClock.Elapsed.TotalSeconds;
        line["lr"] = _c.LearningRate;
        return null;
    }

    private static double MaxMismatch(Tensor logp, IReadOnlyList<Rollout> batch, int lmax)
    {
        var lp = logp.detach().data<float>();
        double max = 0;
        for (int i = 0; i < batch.Count; i++)
            for (int k = 0; k < batch[i].Response.Length; k++)
                max = Math.Max(max, Math.Abs(lp[i * lmax + k] - batch[i].LogProbs[k]));
        return max;
    }

    private float[][] LogProbsNoGrad(IReadOnlyList<Rollout> rollouts, MiniVlm? model = null)
    {
        using var _ = no_grad();
        var result = new float[rollouts.Count][];
        const int chunk = 64;
        for (int start = 0; start < rollouts.Count; start += chunk)
        {
            var part = rollouts.Skip(start).Take(chunk).ToList();
            var (logp, _) = PolicyLogProbs.Compute(model ?? Model, part.Select(r => PolicyPrompt.Pixels(r.Problem)).ToList(),
                part.Select(r => r.Prompt).ToList(), part.Select(r => r.Response).ToList(), _c.Temperature);
            var lp = logp.data<float>();
            int lmax = (int)logp.size(1);
            for (int i = 0; i < part.Count; i++) result[start + i] = lp.AsSpan(i * lmax, part[i].Response.Length).ToArray();
        }
        return result;
    }

    /// <summary>TRL's rollout metrics: reward and its spread, both rewards, lengths, the share of flat groups and an
    /// entropy estimate (minus the mean sampled log-probability at temperature 1).</summary>
    private static void RolloutMetrics(List<List<Rollout>> groups, JsonObject line)
    {
        var all = groups.SelectMany(g => g).ToList();
        if (all.Count == 0) return;
        line["reward"] = all.Average(r => r.Reward);
        line["reward_std"] = groups.Average(g => Std(g.Select(r => r.Reward).ToList()));
        line["accuracy"] = all.Average(r => r.Accuracy);
        line["format"] = all.Average(r => r.Format / Rewards.Rewards.FormatScore);
        line["frac_reward_zero_std"] = groups.Count(g => g.All(r => r.Reward == g[0].Reward)) / (double)groups.Count;
        line["completion_length"] = all.Average(r => r.Response.Length);
        line["completion_length_min"] = all.Min(r => r.Response.Length);
        line["completion_length_max"] = all.Max(r => r.Response.Length);
        line["truncated"] = all.Average(r => r.Truncated ? 1.0 : 0.0);
        double tokens = all.Sum(r => r.Response.Length);
        line["entropy"] = tokens == 0 ? 0 : -all.Sum(r => r.LogProbs.Sum(x => (double)x)) / tokens;
    }

    private static double Std(IReadOnlyList<double> x)
    {
        if (x.Count < 2) return 0;
        double m = x.Average();
        return Math.Sqrt(x.Sum(v => (v - m) * (v - m)) / (x.Count - 1));
    }

    private void LogSamples(StreamWriter samples, int step, List<List<Rollout>> groups)
    {
        foreach (var r in groups.SelectMany(g => g).Take(_c.SamplesLogged))
            RunFolder.WriteLine(samples, new JsonObject
            {
                ["step"] = step, ["problem"] = r.Problem.Id, ["accuracy"] = r.Accuracy, ["format"] = r.Format,
                ["length"] = r.Response.Length, ["response"] = r.Text,
            });
    }

    /// <summary>Greedy accuracy on the test (and OOD) problems, logged as one metrics line.</summary>
    private (EvalReport? test, EvalReport? ood) Evaluate(int step, StreamWriter metrics)
    {
        if (_test.Count == 0) return (null, null);
        var config = new EvalConfig { MaxNewTokens = _c.MaxNewTokens };
        var clock = Stopwatch.StartNew();
        var test = Evaluator.Run(Model, _tokenizer, _test, config);
        var ood = _ood.Count > 0 ? Evaluator.Run(Model, _tokenizer, _ood, config) : null;
        var line = new JsonObject
        {
            ["step"] = step, ["eval_accuracy"] = test.Accuracy, ["eval_format"] = test.FormatRate,
            ["eval_completion_length"] = test.Problems.Average(p => Problem.TokenCount(p.Responses[0])),
            ["eval_problems"] = _test.Count,
        };
        if (ood != null) line["eval_ood_accuracy"] = ood.Accuracy;
        line["time_eval"] = clock.Elapsed.TotalSeconds;
        RunFolder.WriteLine(metrics, line);
        return (test, ood);
    }

    private void SaveCheckpoint(int step) =>
        Model.Save(Folder.CheckpointDir, _tokenizer, dir =>
        {
            _optimizer.save_state(Path.Combine(dir, "optimizer.safetensors"), _parameters);
            RunFolder.WriteTrainerState(dir, step, _c.Seed);
        });

    private int Restore()
    {
        int step = Folder.StateStep(Folder.Resume(_c.Seed, "samples.jsonl"));
        var saved = MiniVlm.Load(Folder.CheckpointDir);
        if (saved.Config != Model.Config) throw new InvalidDataException($"{Folder.CheckpointDir}: model shape differs from the initial policy's");
        Model.load_state_dict(saved.state_dict());
        _optimizer.load_state(Path.Combine(Folder.CheckpointDir, "optimizer.safetensors"), _parameters);
        return step;
    }
}
