using MMEureka.Display;
using MMEureka.Rewards;

namespace MMEureka.Data;

/// <summary>The three MiniK12 splits. OOD uses the same families with numbers outside the training ranges.</summary>
public enum Split { Train, Test, Ood }

/// <summary>
/// One MiniK12 problem: a 48x48 image, a question that needs it, the gold solution steps and the answer
/// (a letter A-D for multiple choice, with the four option texts in <see cref="Choices"/>).
/// </summary>
public sealed record Problem(
    string Id,
    string Subject,
    string Family,
    string Level,
    string Question,
    string Answer,
    AnswerType AnswerType,
    IReadOnlyList<string>? Choices,
    IReadOnlyList<string> SolutionSteps,
    string ImagePath)
{
    /// <summary>The image, when loaded or freshly generated.</summary>
    public RasterImage? Image { get; init; }

    /// <summary>The SFT target in MM-Eureka's format: <c>&lt;think&gt;step\nstep&lt;/think&gt;&lt;answer&gt;X&lt;/answer&gt;</c>.</summary>
    public string GoldResponse => $"<think>{string.Join('\n', SolutionSteps)}</think><answer>{Answer}</answer>";

    /// <summary>
    /// Length in the policy's character tokenizer: each of the four tags is one token, every other character one.
    /// </summary>
    public static int TokenCount(string text)
    {
        int n = text.Length;
        foreach (var tag in (ReadOnlySpan<string>)["<think>", "</think>", "<answer>", "</answer>"])
            for (int i = text.IndexOf(tag, StringComparison.Ordinal); i >= 0; i = text.IndexOf(tag, i + tag.Length, StringComparison.Ordinal))
                n -= tag.Length - 1;
        return n;
    }

    /// <summary>Equality by value, including the step and option lists (records compare lists by reference).</summary>
    public bool SameAs(Problem other) =>
        this with { Choices = null, SolutionSteps = [], Image = null } == other with { Choices = null, SolutionSteps = [], Image = null } &&
        SolutionSteps.SequenceEqual(other.SolutionSteps) &&
        (Choices ?? []).SequenceEqual(other.Choices ?? []);
}
