using MMEureka.Data;

namespace MMEureka.Models;

/// <summary>
/// The text the policy reads and writes. Prompt: <c>&lt;bos&gt;</c> + question + newline; response (the SFT
/// target, MM-Eureka's format): <c>&lt;think&gt;step\nstep&lt;/think&gt;&lt;answer&gt;X&lt;/answer&gt;</c>, after
/// which sampling stops. RL, the PRM and Best-of-N build prompts here so that all stages agree.
/// </summary>
public static class PolicyPrompt
{
    /// <summary>Prompt token ids for a question.</summary>
    public static int[] Encode(Tokenizer tokenizer, string question) => [Tokenizer.Bos, .. tokenizer.Encode(question + "\n")];

    /// <summary>Prompt token ids for a problem.</summary>
    public static int[] Encode(Tokenizer tokenizer, Problem problem) => Encode(tokenizer, problem.Question);

    /// <summary>Gold response token ids (the SFT target).</summary>
    public static int[] GoldResponse(Tokenizer tokenizer, Problem problem) => tokenizer.Encode(problem.GoldResponse);

    /// <summary>The problem's image as channel-first floats in [0, 1]; a blank page (the paper colour, no
    /// content) when <paramref name="blank"/> is set, for the image ablation.</summary>
    public static float[] Pixels(Problem problem, bool blank = false)
    {
        if (blank) return BlankPixels(problem.Image?.Width ?? 48);
        var image = problem.Image ?? throw new InvalidOperationException($"problem {problem.Id} has no image loaded ({problem.ImagePath})");
        return image.ToChwFloats();
    }

    /// <summary>An image of the background colour only.</summary>
    public static float[] BlankPixels(int size = 48) =>
        Display.RasterImage.Filled(size, size, Palette.Paper.R, Palette.Paper.G, Palette.Paper.B).ToChwFloats();
}
