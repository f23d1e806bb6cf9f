using MMEureka.Data;
using static MMEureka.Torch.torch;

namespace MMEureka.Prm;

/// <summary>A labelled path joined with its problem (image and question).</summary>
public sealed record PrmExample(Problem Problem, StepExample Path);

/// <summary>
/// The PRM's training data: the annotator's <c>steps.jsonl</c> joined with the MiniK12 problems it was made from,
/// split into training and held-out paths by problem.
/// </summary>
public static class PrmData
{
    /// <summary>steps.jsonl inside <paramref name="dataPath"/> when it is a folder (an annotation run), else the path itself.</summary>
    public static string StepsFile(string dataPath) =>
        Directory.Exists(dataPath) ? Path.Combine(dataPath, "steps.jsonl") : dataPath;

    /// <summary>Reads the paths of <paramref name="dataPath"/> and finds each one's problem among
    /// <paramref name="problems"/>; an unknown problem id is an error naming the file and line.</summary>
    public static IReadOnlyList<PrmExample> Load(string dataPath, IReadOnlyList<Problem> problems)
    {
        var file = StepsFile(dataPath);
        if (!File.Exists(file)) throw new FileNotFoundException($"{file} does not exist (run `mmeureka annotate` first, or point --data at an annotation run)", file);
        var byId = problems.ToDictionary(p => p.Id);
        var paths = StepExample.ReadJsonl(file);
        var result = new List<PrmExample>(paths.Count);
        for (int i = 0; i < paths.Count; i++)
        {
            if (!byId.TryGetValue(paths[i].ProblemId, out var problem))
                throw new FormatException($"{file}: path {i + 1}: problem_id {paths[i].ProblemId} is not in the MiniK12 train split that was loaded");
            result.Add(new PrmExample(problem, paths[i]));
        }
        return result;
    }

    /// <summary>
    /// Splits paths by problem: a seeded shuffle of the distinct problem ids (in order of first appearance) puts
    /// <paramref name="evalFraction"/> of them (at least one when the fraction is above 0 and there are two or
    /// more problems) in the held-out set.
    /// </summary>
    public static (IReadOnlyList<PrmExample> train, IReadOnlyList<PrmExample> eval) Split(IReadOnlyList<PrmExample> examples, double evalFraction, long seed)
    {
        var ids = examples.Select(e => e.Problem.Id).Distinct().ToArray();
        var order = Enumerable.Range(0, ids.Length).ToArray();
        var g = new Generator(seed);
        for (int j = order.Length - 1; j > 0; j--)
        {
            int r = g.NextInt(j + 1);
            (order[j], order[r]) = (order[r], order[j]);
        }
        int held = evalFraction > 0 && ids.Length > 1 ? Math.Max(1, (int)Math.Round(evalFraction * ids.Length)) : 0;
        var heldOut = order.Take(held).Select(i => ids[i]).ToHashSet();
        return (examples.Where(e => !heldOut.Contains(e.Problem.Id)).ToList(), examples.Where(e => heldOut.Contains(e.Problem.Id)).ToList());
    }

    /// <summary>
    /// Labelled paths made from gold solutions without any rollout, for tests and for a notebook run that has no
    /// annotation yet: per problem, the gold path (every label 1); the gold thoughts with a wrong final answer
    /// (thoughts 1, answer 0); and the gold path cut at a step j whose number is changed (labels 1 before j, 0 at j,
    /// no answer: the annotator's negatives end at their first wrong step). These labels are exact, not Monte Carlo
    /// estimates, so they are what a perfect annotator would write with hard labels.
    /// </summary>
    public static IReadOnlyList<PrmExample> FromGold(IReadOnlyList<Problem> problems, long seed)
    {
        var result = new List<PrmExample>();
        for (int i = 0; i < problems.Count; i++)
        {
            var p = problems[i];
            var rng = new Rng(Rng.Mix((ulong)seed ^ Rng.Mix((ulong)i + 0x50524DUL))); // "PRM"
            var steps = p.SolutionSteps;
            result.Add(new PrmExample(p, new StepExample(p.Id, steps, p.Answer, Enumerable.Repeat(1.0, steps.Count + 1).ToList())));

            var withDigits = Enumerable.Range(0, steps.Count).Where(j => steps[j].Any(char.IsAsciiDigit)).ToList();
            if (withDigits.Count == 0) continue;
            int k = rng.Pick(withDigits);
            var cut = steps.Take(k).Append(ChangeOneDigit(steps[k], rng)).ToList();
            result.Add(new PrmExample(p, new StepExample(p.Id, cut, null, [.. Enumerable.Repeat(1.0, k), 0.0])));

            string wrong = WrongAnswer(p, rng);
            result.Add(new PrmExample(p, new StepExample(p.Id, steps, wrong, [.. Enumerable.Repeat(1.0, steps.Count), 0.0])));
        }
        return result;
    }

    // One digit of the text replaced by a different digit.
    private static string ChangeOneDigit(string text, Rng rng)
    {
        var digits = Enumerable.Range(0, text.Length).Where(i => char.IsAsciiDigit(text[i])).ToList();
        int at = rng.Pick(digits);
        char c = (char)('0' + (text[at] - '0' + 1 + rng.Next(9)) % 10);
        return text[..at] + c + text[(at + 1)..];
    }

    private static string WrongAnswer(Problem p, Rng rng)
    {
        if (p.AnswerType == Rewards.AnswerType.MultipleChoice)
        {
            int gold = p.Answer.Trim()[0] - 'A', count = p.Choices?.Count ?? 4;
            return ((char)('A' + (gold + 1 + rng.Next(count - 1)) % count)).ToString();
        }
        return p.Answer.Any(char.IsAsciiDigit) ? ChangeOneDigit(p.Answer, rng) : p.Answer + "1";
    }
}
