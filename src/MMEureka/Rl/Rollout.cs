using MMEureka.Data;
using MMEureka.Models;
using RuleRewards = MMEureka.Rewards.Rewards;

namespace MMEureka.Rl;

/// <summary>
/// One sampled response and what RL needs of it: the prompt and response tokens, the log-probability of each
/// response token under the sampling policy (pi_old), both rule rewards and whether the length cap cut it off.
/// </summary>
public sealed record Rollout(Problem Problem, int[] Prompt, int[] Response, float[] LogProbs, string Text,
    double Accuracy, double Format, bool Truncated)
{
    /// <summary>The reward the advantages use: accuracy + format (MM-Eureka sums them).</summary>
    public double Reward => Accuracy + Format;
}

/// <summary>
/// Sampling of groups: G responses to each prompt at the policy's temperature, through the KV-cache sampler, each
/// scored by the rule rewards. Row seeds depend on (seed, row) only, so the rollouts do not depend on how rows are
/// batched.
/// </summary>
public static class Rollouts
{
    /// <summary>Samples <paramref name="groupSize"/> responses to each problem; one list per problem.</summary>
    public static List<List<Rollout>> SampleGroups(MiniVlm model, Tokenizer tokenizer, IReadOnlyList<Problem> problems,
        int groupSize, SamplingConfig sampling, long seed, int batchSize = 128)
    {
        var rows = new List<(int problem, int k)>();
        for (int i = 0; i < problems.Count; i++)
            for (int k = 0; k < groupSize; k++) rows.Add((i, k));
        var prompts = problems.Select(p => PolicyPrompt.Encode(tokenizer, p)).ToArray();
        var pixels = problems.Select(p => PolicyPrompt.Pixels(p)).ToArray();
        var groups = problems.Select(_ => new List<Rollout>(groupSize)).ToList();
        for (int start = 0; start < rows.Count; start += batchSize)
        {
            var chunk = rows.Skip(start).Take(batchSize).ToList();
            var results = Sampler.Sample(model, tokenizer, chunk.Select(r => pixels[r.problem]).ToList(),
                chunk.Select(r => prompts[r.problem]).ToList(), sampling,
                chunk.Select(r => Seeds.Derive(seed, "rollout", r.problem, r.k)).ToList());
            for (int j = 0; j < chunk.Count; j++)
            {
                var (i, _) = chunk[j];
                var p = problems[i];
                var s = results[j];
                var reward = RuleRewards.Score(s.Text, p.Answer, p.AnswerType, p.Choices);
                groups[i].Add(new Rollout(p, prompts[i], s.Tokens, s.LogProbs, s.Text, reward.Accuracy, reward.Format, s.Truncated));
            }
        }
        return groups;
    }
}
