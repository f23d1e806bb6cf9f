using MMEureka.Data;
using MMEureka.Models;

namespace MMEureka.Prm;

/// <summary>
/// Rollouts sampled from a MiniVlm checkpoint: each row's prompt is the problem's prompt followed by the prefix's
/// tokens, so the policy continues the response where the prefix stops. All rows of a call go to the sampler in
/// chunks of whole requests of at most <see cref="BatchRows"/> rows (one request may exceed it); the k rows of one prefix are adjacent and identical up to their seed.
/// </summary>
public sealed class VlmRolloutPolicy(MiniVlm model, Tokenizer tokenizer, SamplingConfig sampling, int batchRows) : IRolloutPolicy
{
    private readonly Dictionary<string, float[]> _pixels = new();

    /// <summary>Most rows per sampler call.</summary>
    public int BatchRows { get; } = batchRows;
    /// <summary>Tokens generated so far (for throughput).</summary>
    public long TokensGenerated { get; private set; }
    /// <summary>Rollouts generated so far.</summary>
    public long Rollouts { get; private set; }

    /// <inheritdoc/>
    public IReadOnlyList<IReadOnlyList<string>> Complete(IReadOnlyList<RolloutRequest> requests)
    {
        var rows = new List<(int request, int[] prompt, float[] pixels, long seed)>();
        for (int q = 0; q < requests.Count; q++)
        {
            var r = requests[q];
            int[] prompt = [.. PolicyPrompt.Encode(tokenizer, r.Problem), .. tokenizer.Encode(r.Prefix)];
            var pixels = Pixels(r.Problem);
            foreach (var seed in r.Seeds) rows.Add((q, prompt, pixels, seed));
        }
        var texts = new string[rows.Count];
        // A prefix that already fills the text window (a rollout cut off by it, probed up to its last line) cannot be
        // continued: its rollouts are empty, hence wrong (no answer), instead of an error from the sampler.
        var full = Enumerable.Range(0, rows.Count).Where(x => rows[x].prompt.Length >= model.Config.MaxTextLen).ToHashSet();
        foreach (int x in full) texts[x] = "";
        // Chunks hold whole requests, so the k rows of a prefix always share a sampler call (and its prefill).
        for (int start = 0; start < rows.Count;)
        {
            int end = start;
            while (end < rows.Count && (end == start || end - start + requests[rows[end].request].Seeds.Count <= BatchRows))
                end += requests[rows[end].request].Seeds.Count;
            var chunk = Enumerable.Range(start, end - start).Where(x => !full.Contains(x)).ToList();
            var results = Sampler.Sample(model, tokenizer, chunk.Select(x => rows[x].pixels).ToList(), chunk.Select(x => rows[x].prompt).ToList(),
                sampling, chunk.Select(x => rows[x].seed).ToList());
            for (int j = 0; j < results.Length; j++)
            {
                texts[chunk[j]] = results[j].Text;
                TokensGenerated += results[j].Tokens.Length;
            }
            start = end;
        }
        Rollouts += rows.Count;
        var answer = new List<IReadOnlyList<string>>(requests.Count);
        int i = 0;
        foreach (var r in requests)
        {
            answer.Add(texts.AsSpan(i, r.Seeds.Count).ToArray());
            i += r.Seeds.Count;
        }
        return answer;
    }

    // One decoded image per problem, kept while the problem is searched (images are 27 KB of floats).
    private float[] Pixels(Problem problem)
    {
        if (!_pixels.TryGetValue(problem.Id, out var p))
        {
            if (_pixels.Count > 4096) _pixels.Clear();
            _pixels[problem.Id] = p = PolicyPrompt.Pixels(problem);
        }
        return p;
    }
}
