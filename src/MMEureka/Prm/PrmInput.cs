using MMEureka.Data;
using MMEureka.Models;

namespace MMEureka.Prm;

/// <summary>
/// What the PRM reads for one solution: the policy's prompt (<see cref="PolicyPrompt.Encode(Tokenizer, Problem)"/>), then
/// the response in MM-Eureka's format with a <c>&lt;prm&gt;</c> tag after each step:
/// <c>&lt;think&gt;step 1&lt;prm&gt;\nstep 2&lt;prm&gt;&lt;/think&gt;&lt;answer&gt;X&lt;/answer&gt;&lt;prm&gt;</c>
/// (MM-PRM joins its steps with the tag and ends on one). An outcome model reads the same response with a single
/// tag at the end. <see cref="TagIndices"/> are the tags' indices in <see cref="Response"/>, recorded while
/// building it (a step that happens to contain the text <c>&lt;prm&gt;</c> does not add a tag).
/// When prompt + response would overflow the model's text window, the response is cut and only the steps whose
/// tags fit are scored (<see cref="ScoredSteps"/> &lt; the solution's step count).
/// </summary>
public sealed record PrmInput(float[] Pixels, int[] Prompt, int[] Response, int[] TagIndices)
{
    /// <summary>Steps that get a score (one per tag).</summary>
    public int ScoredSteps => TagIndices.Length;

    /// <summary>Builds the input of <paramref name="solution"/> to <paramref name="problem"/>; with
    /// <paramref name="outcome"/>, one tag after the whole response (the outcome reward model).</summary>
    public static PrmInput Build(Tokenizer tokenizer, Problem problem, Solution solution, int maxTextLen, bool outcome = false) =>
        Build(tokenizer, PolicyPrompt.Pixels(problem), PolicyPrompt.Encode(tokenizer, problem), solution, maxTextLen, outcome);

    /// <summary>Builds the input from an image and prompt ids.</summary>
    public static PrmInput Build(Tokenizer tokenizer, float[] pixels, int[] prompt, Solution solution, int maxTextLen, bool outcome = false)
    {
        var tokens = new List<int> { Tokenizer.Think };
        var tags = new List<int>();
        for (int i = 0; i < solution.Thoughts.Count; i++)
        {
            if (i > 0) tokens.AddRange(tokenizer.Encode("\n"));
            tokens.AddRange(tokenizer.Encode(solution.Thoughts[i]));
            if (!outcome) { tags.Add(tokens.Count); tokens.Add(Tokenizer.Prm); }
        }
        tokens.Add(Tokenizer.EndThink);
        if (solution.Answer != null)
        {
            tokens.Add(Tokenizer.Answer);
            tokens.AddRange(tokenizer.Encode(solution.Answer));
            tokens.Add(Tokenizer.EndAnswer);
        }
        if (outcome || solution.Answer != null) { tags.Add(tokens.Count); tokens.Add(Tokenizer.Prm); }

        // The score of a tag is read at the tag itself, i.e. from the row that predicts the token after it
        // (StepScores appends a filler token), so a tag needs one free place after it in the window.
        int room = maxTextLen - prompt.Length - 1;
        if (room <= 0) throw new ArgumentException($"prompt of {prompt.Length} tokens leaves no room in max_text_len {maxTextLen}");
        if (tokens.Count > room)
        {
            tokens.RemoveRange(room, tokens.Count - room);
            tags.RemoveAll(t => t >= room);
        }
        return new PrmInput(pixels, prompt, [.. tokens], [.. tags]);
    }
}
