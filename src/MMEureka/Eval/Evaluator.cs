using MMEureka.Data;
using MMEureka.Models;

namespace MMEureka.Eval;

/// <summary>How to evaluate: greedy (one sample, temperature 0) or K samples at a temperature.</summary>
public sealed record EvalConfig
{
    /// <summary>Responses per problem (K of pass@K).</summary>
    public int Samples { get; init; } = 1;
    /// <summary>Sampling temperature; 0 = greedy (then only one sample makes sense).</summary>
    public float Temperature { get; init; }
    /// <summary>Rows generated together.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Most tokens per response.</summary>
    public int MaxNewTokens { get; init; } = 160;
    /// <summary>Seed of the draws.</summary>
    public long Seed { get; init; }
    /// <summary>Replace every image by a blank page (the image ablation).</summary>
    public bool BlankImages { get; init; }

    /// <summary>Throws naming the field when a value is out of range.</summary>
    public EvalConfig Validate()
    {
        if (Samples <= 0) throw new ArgumentException($"samples must be positive, got {Samples}");
        if (Samples > 1 && Temperature <= 0) throw new ArgumentException($"{Samples} samples need a temperature above 0 (greedy samples are identical)");
        if (BatchSize <= 0) throw new ArgumentException($"batch size must be positive, got {BatchSize}");
        return this;
    }
}

/// <summary>One problem's responses and their rule rewards.</summary>
public sealed record ProblemEval(Problem Problem, IReadOnlyList<string> Responses, IReadOnlyList<bool> Correct,
    IReadOnlyList<bool> Formatted, IReadOnlyList<bool> Truncated)
{
    /// <summary>How many responses were correct.</summary>
    public int CorrectCount => Correct.Count(c => c);
}

/// <summary>Accuracy and format rate over all responses, pass@k for k = 1..K, and accuracy per family.</summary>
public sealed record EvalReport(EvalConfig Config, double Accuracy, double FormatRate, double TruncatedRate,
    IReadOnlyList<double> PassAt, IReadOnlyDictionary<string, double> AccuracyByFamily, IReadOnlyList<ProblemEval> Problems)
{
    /// <summary>pass@K for the largest K evaluated.</summary>
    public double PassAtK => PassAt[^1];
}

/// <summary>
/// Samples the policy on problems and scores the responses with the rule rewards (accuracy: the answer is
/// equivalent to the gold one; format: MM-Eureka's tag pattern). pass@k uses the unbiased estimator.
/// </summary>
public static class Evaluator
{
    /// <summary>Generates one response per row (images, prompts, sampling settings, one seed per row): the engine's
    /// <see cref="Sampler.Sample(MiniVlm, Tokenizer, IReadOnlyList{float[]}, IReadOnlyList{int[]}, SamplingConfig, IReadOnlyList{long}?)"/>, or another implementation of the same policy (the TorchSharp twin on a GPU).</summary>
    public delegate SampleResult[] BatchSampler(IReadOnlyList<float[]> pixels, IReadOnlyList<int[]> prompts,
        SamplingConfig config, IReadOnlyList<long> rowSeeds);

    /// <summary>Evaluates <paramref name="model"/> on <paramref name="problems"/>.</summary>
    public static EvalReport Run(MiniVlm model, Tokenizer tokenizer, IReadOnlyList<Problem> problems, EvalConfig config)
        => Run((pixels, prompts, sampling, seeds) => Sampler.Sample(model, tokenizer, pixels, prompts, sampling, seeds),
            problems, tokenizer, config);

    /// <summary>Evaluates the policy behind <paramref name="sample"/> on <paramref name="problems"/>.</summary>
    public static EvalReport Run(BatchSampler sample, IReadOnlyList<Problem> problems, Tokenizer tokenizer, EvalConfig config)
    {
        config.Validate();
        if (problems.Count == 0) throw new ArgumentException("no problems to evaluate");
        int k = config.Samples;
        // Every (problem, sample) pair is one row; row seeds depend on (seed, problem index, sample) only, so
        // the result does not depend on the batch size.
        var rows = new List<(int problem, int sample)>();
        for (int i = 0; i < problems.Count; i++)
            for (int s = 0; s < k; s++) rows.Add((i, s));
        var responses = new SampleResult[problems.Count, k];
        var sampling = new SamplingConfig { Temperature = config.Temperature, MaxNewTokens = config.MaxNewTokens, Seed = config.Seed };
        for (int start = 0; start < rows.Count; start += config.BatchSize)
        {
            var chunk = rows.Skip(start).Take(config.BatchSize).ToList();
            var pixels = chunk.Select(r => PolicyPrompt.Pixels(problems[r.problem], config.BlankImages)).ToList();
            var prompts = chunk.Select(r => PolicyPrompt.Encode(tokenizer, problems[r.problem])).ToList();
            var seeds = chunk.Select(r => Sampler.RowSeed(config.Seed, r.problem * k + r.sample)).ToList();
            var results = sample(pixels, prompts, sampling, seeds);
            for (int j = 0; j < chunk.Count; j++) responses[chunk[j].problem, chunk[j].sample] = results[j];
        }

        var evals = new List<ProblemEval>(problems.Count);
        for (int i = 0; i < problems.Count; i++)
        {
            var p = problems[i];
            var texts = Enumerable.Range(0, k).Select(s => responses[i, s].Text).ToList();
            var scores = texts.Select(t => Rewards.Rewards.Score(t, p.Answer, p.AnswerType, p.Choices)).ToList();
            evals.Add(new ProblemEval(p, texts, scores.Select(s => s.Accuracy > 0).ToList(),
                scores.Select(s => s.Format > 0).ToList(), Enumerable.Range(0, k).Select(s => responses[i, s].Truncated).ToList()));
        }
        int total = problems.Count * k;
        var counts = evals.Select(e => e.CorrectCount).ToList();
        return new EvalReport(config,
            Accuracy: counts.Sum() / (double)total,
            FormatRate: evals.Sum(e => e.Formatted.Count(f => f)) / (double)total,
            TruncatedRate: evals.Sum(e => e.Truncated.Count(f => f)) / (double)total,
            PassAt: Enumerable.Range(1, k).Select(j => PassAtK.Mean(counts, k, j)).ToList(),
            AccuracyByFamily: evals.GroupBy(e => e.Problem.Family).OrderBy(g => g.Key)
                .ToDictionary(g => g.Key, g => g.Sum(e => e.CorrectCount) / (double)(g.Count() * k)),
            Problems: evals);
    }
}
