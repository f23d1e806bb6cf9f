using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MMEureka.Data;
using MMEureka.Models;
using MMEureka.Torch;
using MMEureka.Torch.Modules;
using static MMEureka.Torch.torch;

namespace MMEureka.Sft;

/// <summary>
/// Stage 1 before SFT (<see cref="VisionPretraining"/>): how long the vision tower trains on its own.
/// <see cref="Steps"/> 0 skips the stage.
/// </summary>
public sealed record VisionPretrainConfig
{
    /// <summary>Optimiser steps (0: no stage 1).</summary>
    public int Steps { get; init; }
    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Peak learning rate (linear warmup, cosine decay to 5%).</summary>
    public double LearningRate { get; init; } = 1.5e-3;
    /// <summary>Steps of linear warmup.</summary>
    public int WarmupSteps { get; init; } = 30;
    /// <summary>Measure held-out accuracy every this many steps (and at the end).</summary>
    public int EvalEvery { get; init; } = 250;

    /// <summary>Throws naming the field when a value is out of range.</summary>
    public VisionPretrainConfig Validate()
    {
        if (Steps < 0 || WarmupSteps < 0 || EvalEvery < 0) throw new ArgumentException("vision steps, warmup_steps and eval_every must be >= 0");
        if (BatchSize <= 0 || !(LearningRate > 0)) throw new ArgumentException("vision batch_size and lr must be positive");
        return this;
    }
}

/// <summary>One logged point of stage 1: the training loss, and on evaluation steps the held-out accuracy.</summary>
/// <param name="Accuracy">Mean accuracy over the reading slots on the held-out problems, when this step evaluated.</param>
/// <param name="FirstReadingAccuracy">Accuracy of slot 0 alone (the first number of the first step).</param>
public sealed record VisionProgress(int Step, int TotalSteps, double Loss, TimeSpan Elapsed, double? Accuracy = null, double? FirstReadingAccuracy = null);

/// <summary>
/// Stage 1 of the policy's training: the vision tower learns to read images on its own before SFT connects it to the
/// decoder, the way LLaVA-style models start from a vision encoder that was pre-trained elsewhere (CLIP, InternViT).
/// Through the decoder alone the tower learns slowly: its gradient arrives mixed with that of every template token,
/// and the decoder only learns to attend to the image once the image says something.
/// <para>
/// The task needs no labels beyond the gold solutions: the numbers the first <see cref="ReadSteps"/> solution
/// steps write ("hour hand: past 3", "minute hand at 3: 15 min") are what the image shows. Each slot (step k,
/// number j) is a classification over the values seen in training for that family ("clock|3", or "clock|-" when
/// the step has fewer numbers), predicted by a linear head over all patch vectors of the tower. The head is thrown
/// away afterwards; only the tower's weights carry over.
/// </para>
/// </summary>
public sealed partial class VisionPretraining
{
    /// <summary>Solution steps whose numbers are read (the later ones are arithmetic on them).</summary>
    public const int ReadSteps = 3;
    /// <summary>Numbers read per step.</summary>
    public const int NumbersPerStep = 3;
    /// <summary>Slots per image: <see cref="ReadSteps"/> x <see cref="NumbersPerStep"/>.</summary>
    public const int Slots = ReadSteps * NumbersPerStep;

    private const int Ignored = -100;

    [GeneratedRegex(@"-?\d+(?:[./]\d+)?")]
    private static partial Regex NumberPattern();

    private readonly VisionEncoder _tower;
    private readonly MiniVlmConfig _shape;
    private readonly Linear _head;
    private readonly string[][] _classes;
    private readonly Dictionary<string, int>[] _classIndex;
    private readonly int[] _offsets;

    /// <summary>Class names of each slot, in the head's output order (built from the training problems).</summary>
    public IReadOnlyList<IReadOnlyList<string>> Classes => _classes;

    /// <summary>Sets up stage 1 for <paramref name="model"/>'s tower; the classes come from <paramref name="train"/>.
    /// The head starts from <paramref name="seed"/>.</summary>
    public VisionPretraining(MiniVlm model, IReadOnlyList<Problem> train, long seed)
    {
        if (train.Count == 0) throw new ArgumentException("no training problems");
        _tower = model.vision;
        _shape = model.Config;
        _classes = new string[Slots][];
        _classIndex = new Dictionary<string, int>[Slots];
        var labels = train.Select(Labels).ToList();
        _offsets = new int[Slots + 1];
        for (int s = 0; s < Slots; s++)
        {
            _classes[s] = labels.Select(l => l[s]).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToArray();
            _classIndex[s] = _classes[s].Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i);
            _offsets[s + 1] = _offsets[s] + _classes[s].Length;
        }
        // A flattened view of every patch: the head may look anywhere, so the tower is asked to make each patch say
        // what it shows (what the decoder will attend to), not to pool the whole image into one vector.
        _head = nn.Linear(_shape.ImageTokens * _shape.VisionDim, _offsets[Slots]);
        using var _ = no_grad();
        nn.init.normal_(_head.weight, 0, 1 / Math.Sqrt(_head.weight.size(1)), new Generator(seed));
        nn.init.zeros_(_head.bias!);
    }

    /// <summary>
    /// The slot labels of a problem: slot k * <see cref="NumbersPerStep"/> + j is "family|number j of step k",
    /// "family|-" when step k has fewer numbers, null (ignored) when the solution has no step k.
    /// </summary>
    public static string?[] Labels(Problem problem)
    {
        var labels = new string?[Slots];
        for (int k = 0; k < ReadSteps && k < problem.SolutionSteps.Count; k++)
        {
            var numbers = NumberPattern().Matches(problem.SolutionSteps[k]);
            for (int j = 0; j < NumbersPerStep; j++)
                labels[k * NumbersPerStep + j] = problem.Family + "|" + (j < numbers.Count ? numbers[j].Value : "-");
        }
        return labels;
    }

    /// <summary>Head logits [B, classes of all slots] for images [B, C, S, S].</summary>
    public Tensor Logits(Tensor pixels)
    {
        var features = _tower.forward(pixels);
        return _head.forward(features.view(pixels.size(0), _shape.ImageTokens * _shape.VisionDim));
    }

    /// <summary>Mean over slots of the slots' cross-entropies (slots without a label in the batch are left out),
    /// and the number of slots that counted.</summary>
    public (Tensor loss, int slots) Loss(IReadOnlyList<Problem> batch)
    {
        var logits = Logits(Pixels(batch));
        var labels = batch.Select(Labels).ToList();
        Tensor? total = null;
        int used = 0;
        for (int s = 0; s < Slots; s++)
        {
            var targets = labels.Select(l => l[s] is { } label && _classIndex[s].TryGetValue(label, out var c) ? c : Ignored).ToArray();
            if (targets.All(t => t == Ignored)) continue;
            var term = nn.functional.cross_entropy(logits.narrow(1, _offsets[s], _classes[s].Length), targets);
            total = total is null ? term : total + term;
            used++;
        }
        if (total is null) throw new ArgumentException("no problem in the batch has a solution step to read");
        return (total / used, used);
    }

    /// <summary>Accuracy of each slot on <paramref name="problems"/> (labels unseen in training count as wrong;
    /// NaN for a slot no problem has), without gradients.</summary>
    public double[] Accuracy(IReadOnlyList<Problem> problems, int batchSize = 64)
    {
        var right = new int[Slots];
        var total = new int[Slots];
        using var _ = no_grad();
        for (int start = 0; start < problems.Count; start += batchSize)
        {
            var chunk = problems.Skip(start).Take(batchSize).ToList();
            var logits = Logits(Pixels(chunk)).data<float>();
            int width = _offsets[Slots];
            for (int r = 0; r < chunk.Count; r++)
            {
                var labels = Labels(chunk[r]);
                for (int s = 0; s < Slots; s++)
                {
                    if (labels[s] is not { } label) continue;
                    total[s]++;
                    int best = 0;
                    var row = logits.AsSpan(r * width + _offsets[s], _classes[s].Length);
                    for (int c = 1; c < row.Length; c++) if (row[c] > row[best]) best = c;
                    if (_classIndex[s].TryGetValue(label, out var want) && want == best) right[s]++;
                }
            }
        }
        return Enumerable.Range(0, Slots).Select(s => total[s] == 0 ? double.NaN : (double)right[s] / total[s]).ToArray();
    }

    /// <summary>
    /// Trains the tower and the head for config.Steps steps of AdamW (betas 0.9/0.95, weight decay 0.01, clip 1) on
    /// batches drawn from <paramref name="train"/> in a seeded order; every config.EvalEvery steps and at the end
    /// measures accuracy on <paramref name="heldOut"/>. Each step and evaluation goes to <paramref name="log"/>
    /// (the run folder's vision.jsonl) and <paramref name="progress"/>.
    /// </summary>
    public void Train(VisionPretrainConfig config, IReadOnlyList<Problem> train, IReadOnlyList<Problem> heldOut, long seed,
        Action<JsonObject>? log = null, Action<VisionProgress>? progress = null)
    {
        config.Validate();
        var parameters = _tower.parameters().Concat(_head.parameters()).ToList();
        foreach (var p in parameters) p.requires_grad_(); // an SFT run with a frozen tower may have switched it off
        var optimizer = optim.AdamW(parameters, config.LearningRate, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.01);
        var schedule = optim.lr_scheduler.warmup_cosine(config.WarmupSteps, config.Steps, 0.05);
        var order = new Generator(seed * 7919 + 17);
        var deck = new List<int>();
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < config.Steps; step++)
        {
            optimizer.param_groups[0].lr = config.LearningRate * schedule(step);
            var batch = new List<Problem>(config.BatchSize);
            while (batch.Count < config.BatchSize)
            {
                if (deck.Count == 0) deck = Shuffled(train.Count, order);
                batch.Add(train[deck[^1]]);
                deck.RemoveAt(deck.Count - 1);
            }
            optimizer.zero_grad();
            var (loss, _) = Loss(batch);
            double value = loss.item<float>();
            if (!double.IsFinite(value)) throw new InvalidOperationException($"vision pre-training loss became {value} at step {step + 1}");
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();

            int done = step + 1;
            var line = new JsonObject { ["step"] = done, ["loss"] = value };
            double? mean = null, first = null;
            if (heldOut.Count > 0 && ((config.EvalEvery > 0 && done % config.EvalEvery == 0) || done == config.Steps))
            {
                var accuracy = Accuracy(heldOut);
                mean = accuracy.Where(double.IsFinite).Average();
                first = accuracy[0];
                line["accuracy"] = mean;
                for (int s = 0; s < Slots; s++)
                    if (double.IsFinite(accuracy[s])) line[$"accuracy_slot{s}"] = accuracy[s];
            }
            log?.Invoke(line);
            progress?.Invoke(new VisionProgress(done, config.Steps, value, clock.Elapsed, mean, first));
        }
        // Stale gradients on the tower would count in SFT's gradient clipping (a frozen tower keeps them forever).
        optimizer.zero_grad();
    }

    private static List<int> Shuffled(int n, Generator g)
    {
        var a = Enumerable.Range(0, n).ToArray();
        Seeds.Shuffle(a, g);
        return [.. a];
    }

    private Tensor Pixels(IReadOnlyList<Problem> batch)
    {
        int per = _shape.Channels * _shape.ImageSize * _shape.ImageSize;
        var data = new float[batch.Count * per];
        for (int i = 0; i < batch.Count; i++) PolicyPrompt.Pixels(batch[i]).CopyTo(data, i * per);
        return tensor(data, [batch.Count, _shape.Channels, _shape.ImageSize, _shape.ImageSize]);
    }
}
