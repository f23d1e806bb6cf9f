using MMEureka.Data;
using MMEureka.Models;
using MMEureka.Sft;
using MMEureka.Tests.Models;
using static MMEureka.Torch.torch;

namespace MMEureka.Tests.Sft;

public sealed class LossBreakdownTests
{
    private static readonly Problem[] Problems = MiniK12Generator.GenerateSplit(new MiniK12Config(Seed: 8, Test: 40), Split.Test);

    [Fact]
    public void RolesFollowTheTokensOfTheGoldResponse()
    {
        var tok = new Tokenizer();
        foreach (var p in Problems)
        {
            var roles = LossBreakdown.Roles(p);
            var text = tok.Decode(tok.Encode(p.GoldResponse));
            Assert.Equal(tok.Encode(p.GoldResponse).Length, roles.Length);
            Assert.Equal(p.SolutionSteps[0].Count(char.IsAsciiDigit), roles.Count(r => r == TokenRole.ReadingDigit));
            Assert.Equal(p.SolutionSteps.Skip(1).Sum(s => s.Count(char.IsAsciiDigit)), roles.Count(r => r == TokenRole.LaterDigit));
            Assert.Equal(p.Answer.Length, roles.Count(r => r == TokenRole.Answer));
            Assert.Equal(text, p.GoldResponse);
        }
        // A hand-checked case: "<think>a: 12\nb = 3</think><answer>4</answer>".
        var hand = Problems[0] with { SolutionSteps = ["a: 12", "b = 3"], Answer = "4" };
        var expected = new[] { "T", "T", "T", "T", "R", "R", "T", "T", "T", "T", "T", "L", "T", "T", "A", "T" };
        Assert.Equal(expected, LossBreakdown.Roles(hand).Select(r => r switch
        {
            TokenRole.ReadingDigit => "R", TokenRole.LaterDigit => "L", TokenRole.Answer => "A", _ => "T",
        }));
    }

    [Fact]
    public void RoleLossesAddUpToTheSftLoss()
    {
        var tok = new Tokenizer();
        var model = new MiniVlm(TestModels.Tiny with { MaxTextLen = 192 }, 3);
        using (no_grad()) model.lm_head.weight.mul_(30f); // spread the per-token losses
        var rows = LossBreakdown.Run(model, tok, Problems, batchSize: 32); // two batches: 32 + 8
        float whole;
        using (no_grad())
            whole = PolicyLogProbs.ResponseLoss(model, Problems.Select(p => PolicyPrompt.Pixels(p)).ToList(),
                Problems.Select(p => PolicyPrompt.Encode(tok, p)).ToList(), Problems.Select(p => PolicyPrompt.GoldResponse(tok, p)).ToList()).item<float>();
        int tokens = rows.Sum(r => r.Tokens);
        Assert.Equal(Problems.Sum(p => tok.Encode(p.GoldResponse).Length), tokens);
        Assert.Equal(whole, rows.Sum(r => r.MeanNll * r.Tokens) / tokens, 4);
        Assert.Equal(1.0, rows.Sum(r => r.ShareOfLoss), 9);
        Assert.All(rows, r => Assert.True(r.Tokens > 0 && r.MeanNll > 0));

        // Blank pages change only what the model sees, not which tokens are counted.
        var blank = LossBreakdown.Run(model, tok, Problems, blankImages: true);
        Assert.Equal(rows.Select(r => r.Tokens), blank.Select(r => r.Tokens));
        Assert.NotEqual(rows[0].MeanNll, blank[0].MeanNll);
    }

    [Fact]
    public void SftObjectiveWeighsTheReadingDigits()
    {
        var tok = new Tokenizer();
        var model = new MiniVlm(TestModels.Tiny with { MaxTextLen = 192 }, 4);
        using (no_grad()) model.lm_head.weight.mul_(30f);
        var problems = Problems.Take(12).ToList();
        var pixels = problems.Select(p => PolicyPrompt.Pixels(p)).ToList();
        var prompts = problems.Select(p => PolicyPrompt.Encode(tok, p)).ToList();
        var responses = problems.Select(p => PolicyPrompt.GoldResponse(tok, p)).ToList();
        var rows = LossBreakdown.Run(model, tok, problems);
        double total = rows.Sum(r => r.MeanNll * r.Tokens), tokens = rows.Sum(r => r.Tokens);
        var reading = rows.Single(r => r.Role == TokenRole.ReadingDigit);

        using var noGrad = no_grad();
        var (plain, plainMean) = SftTrainer.Objective(model, problems, pixels, prompts, responses, 1);
        float reference = PolicyLogProbs.ResponseLoss(model, pixels, prompts, responses).item<float>();
        Assert.Equal(reference, plain.item<float>(), 4);
        Assert.Equal(reference, plainMean, 4);

        var (weighted, weightedMean) = SftTrainer.Objective(model, problems, pixels, prompts, responses, 5);
        double expected = (total + 4 * reading.MeanNll * reading.Tokens) / (tokens + 4 * reading.Tokens);
        Assert.Equal(expected, weighted.item<float>(), 3);
        Assert.Equal(reference, weightedMean, 4); // the logged loss stays the plain mean
        Assert.True(Math.Abs(expected - reference) > 0.05, $"the weight should move the objective ({expected} vs {reference})");
    }
}
