using MMEureka.Data;
using MMEureka.Models;
using static MMEureka.Torch.torch;

namespace MMEureka.Sft;

/// <summary>The kinds of response token <see cref="LossBreakdown"/> separates.</summary>
public enum TokenRole
{
    /// <summary>A digit of the first solution step: the value read off the image ("hour hand: past 9").</summary>
    ReadingDigit,
    /// <summary>A digit of a later step: arithmetic on the values read, or picking a choice.</summary>
    LaterDigit,
    /// <summary>A character of the final answer inside &lt;answer&gt;.</summary>
    Answer,
    /// <summary>Everything else: step wording, newlines and the four tags (the template).</summary>
    Template,
}

/// <summary>Mean cross-entropy of one role's tokens and its share of the total loss.</summary>
public sealed record RoleLoss(TokenRole Role, int Tokens, double MeanNll, double ShareOfLoss);

/// <summary>
/// Where the SFT loss of gold solutions sits: the teacher-forced cross-entropy of every response token, grouped by
/// <see cref="TokenRole"/>. After SFT the template costs almost nothing and what remains is mostly the digits of the
/// first step, the values the policy has to read off the image; with blank images exactly those get worse.
/// </summary>
public static class LossBreakdown
{
    /// <summary>The role of each token of <c>tokenizer.Encode(problem.GoldResponse)</c>, in order.</summary>
    public static TokenRole[] Roles(Problem problem)
    {
        var roles = new List<TokenRole> { TokenRole.Template }; // <think>
        for (int s = 0; s < problem.SolutionSteps.Count; s++)
        {
            if (s > 0) roles.Add(TokenRole.Template); // the newline between steps
            foreach (char ch in problem.SolutionSteps[s])
                roles.Add(!char.IsAsciiDigit(ch) ? TokenRole.Template : s == 0 ? TokenRole.ReadingDigit : TokenRole.LaterDigit);
        }
        roles.Add(TokenRole.Template); // </think>
        roles.Add(TokenRole.Template); // <answer>
        roles.AddRange(problem.Answer.Select(_ => TokenRole.Answer));
        roles.Add(TokenRole.Template); // </answer>
        return [.. roles];
    }

    /// <summary>
    /// Per-role loss of <paramref name="model"/> on the gold solutions of <paramref name="problems"/>, in batches of
    /// <paramref name="batchSize"/>; <paramref name="blankImages"/> replaces every image by a blank page.
    /// </summary>
    public static IReadOnlyList<RoleLoss> Run(MiniVlm model, Tokenizer tokenizer, IReadOnlyList<Problem> problems,
        bool blankImages = false, int batchSize = 32)
    {
        if (problems.Count == 0) throw new ArgumentException("no problems");
        int roleCount = Enum.GetValues<TokenRole>().Length;
        var sum = new double[roleCount];
        var count = new int[roleCount];
        using var noGrad = no_grad();
        for (int start = 0; start < problems.Count; start += batchSize)
        {
            var chunk = problems.Skip(start).Take(batchSize).ToList();
            var responses = chunk.Select(p => PolicyPrompt.GoldResponse(tokenizer, p)).ToList();
            var (logProbs, _) = PolicyLogProbs.Compute(model, chunk.Select(p => PolicyPrompt.Pixels(p, blankImages)).ToList(),
                chunk.Select(p => PolicyPrompt.Encode(tokenizer, p)).ToList(), responses);
            var lp = logProbs.data<float>();
            int lmax = (int)logProbs.size(1);
            for (int r = 0; r < chunk.Count; r++)
            {
                var roles = Roles(chunk[r]);
                if (roles.Length != responses[r].Length)
                    throw new InvalidOperationException($"problem {chunk[r].Id}: {roles.Length} roles for {responses[r].Length} response tokens");
                for (int k = 0; k < roles.Length; k++)
                {
                    sum[(int)roles[k]] -= lp[r * lmax + k];
                    count[(int)roles[k]]++;
                }
            }
        }
        double total = sum.Sum();
        return Enum.GetValues<TokenRole>()
            .Select(role => new RoleLoss(role, count[(int)role], count[(int)role] == 0 ? 0 : sum[(int)role] / count[(int)role],
                total > 0 ? sum[(int)role] / total : 0))
            .ToList();
    }
}
