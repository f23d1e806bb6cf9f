using MMEureka.Rewards;
using RuleRewards = MMEureka.Rewards.Rewards;

namespace MMEureka.Tests.Rewards;

public class RewardsTests
{
    [Theory]
    // response, gold, accuracy, format, extracted
    [InlineData("<think>red circles: 2\nblue circles: 2\n2 + 2 = 4</think><answer>4</answer>", "4", 1.0, 0.5, "4")]
    [InlineData("<think>2 + 2 = 5</think><answer>5</answer>", "4", 0.0, 0.5, "5")]
    [InlineData("<think>a</think>\n <answer>4</answer>", "4", 1.0, 0.5, "4")]         // whitespace between the blocks is allowed
    [InlineData(" <think>a</think><answer>4</answer>", "4", 1.0, 0.0, "4")]          // but not before <think> ...
    [InlineData("<think>a</think><answer>4</answer>\n", "4", 1.0, 0.0, "4")]         // ... or after </answer>
    [InlineData("<think>a</think>so<answer>4</answer>", "4", 1.0, 0.0, "4")]         // text between the blocks
    [InlineData("<answer>4</answer><think>a</think>", "4", 1.0, 0.0, "4")]           // wrong order
    [InlineData("<think>a</think><answer>4</answer><answer>5</answer>", "4", 1.0, 0.0, "4")] // two answers: the first counts, no format
    [InlineData("<think>a</think><answer>5</answer><answer>4</answer>", "4", 0.0, 0.0, "5")]
    [InlineData("<think>a</think><answer>4", "4", 1.0, 0.0, "4")]                    // unclosed answer: text after the last <answer>
    [InlineData("<think>a <answer>3</think><answer>4", "4", 1.0, 0.0, "4")]
    [InlineData("<think><think>a</think><answer>4</answer>", "4", 1.0, 0.0, "4")]    // two <think>
    [InlineData("<think>a</think>", "4", 0.0, 0.0, "<think>a</think>")]              // no answer tag: the whole response is read
    [InlineData("the answer is 4", "4", 1.0, 0.0, "the answer is 4")]
    [InlineData("", "4", 0.0, 0.0, "")]
    public void IntegerResponses(string response, string gold, double accuracy, double format, string extracted)
    {
        var r = RuleRewards.Score(response, gold, AnswerType.Integer);
        Assert.Equal((accuracy, format, extracted), (r.Accuracy, r.Format, r.Extracted));
        Assert.Equal(accuracy + format, r.Total);
        Assert.Equal(format, RuleRewards.Format(response));
        Assert.Equal(accuracy, RuleRewards.Accuracy(response, gold, AnswerType.Integer));
    }

    [Fact]
    public void MultipleChoiceResponse()
    {
        string[] options = ["2", "4", "6", "8"];
        Assert.Equal(1.5, RuleRewards.Score("<think>2 + 2 = 4\n4 is (B)</think><answer>B</answer>", "B", AnswerType.MultipleChoice, options).Total);
        Assert.Equal(1.5, RuleRewards.Score("<think>2 + 2 = 4</think><answer>4</answer>", "B", AnswerType.MultipleChoice, options).Total);
        Assert.Equal(0.5, RuleRewards.Score("<think>2 + 2 = 4</think><answer>C</answer>", "B", AnswerType.MultipleChoice, options).Total);
    }

    [Fact]
    public void UnparseableGoldNeverScores() =>
        Assert.Throws<InvalidGoldAnswerException>(() => RuleRewards.Accuracy("<think>a</think><answer>x</answer>", "x", AnswerType.Integer));
}
