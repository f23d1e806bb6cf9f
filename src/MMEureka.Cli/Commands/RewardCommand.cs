using System.CommandLine;
using System.Text.Json;
using MMEureka.Rewards;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka reward</c>: MM-Eureka's rule-based reward for one response, as one JSON line.</summary>
internal static class RewardCommand
{
    public static Command Create()
    {
        var gold = new Option<string>("--gold") { Description = "Gold answer (a number, fraction, decimal or letter A-D).", Required = true };
        var response = new Option<string>("--response") { Description = "The model's full response.", Required = true };
        var type = new Option<string?>("--answer-type") { Description = "integer | fraction | decimal | multiple_choice (default: inferred from --gold)." };
        var choices = new Option<string?>("--choices") { Description = "The four options, separated by '|', for multiple choice." };
        var command = new Command("reward", "Score a response: accuracy (0/1), format (0/0.5) and the extracted answer.") { gold, response, type, choices };
        command.SetAction(parse =>
        {
            string g = parse.GetValue(gold)!, r = parse.GetValue(response)!;
            string? typeName = parse.GetValue(type);
            AnswerType answerType;
            if (typeName is null) answerType = Infer(g);
            else if (!AnswerTypeNames.TryParse(typeName, out answerType))
            {
                Console.Error.WriteLine($"error: --answer-type '{typeName}' is not one of integer, fraction, decimal, multiple_choice");
                return 1;
            }
            var options = parse.GetValue(choices)?.Split('|');
            try
            {
                var result = Rewards.Rewards.Score(r, g, answerType, options);
                Console.WriteLine(JsonSerializer.Serialize(new { accuracy = result.Accuracy, format = result.Format, extracted = result.Extracted }));
                return 0;
            }
            catch (InvalidGoldAnswerException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>A letter is multiple choice, a slash a fraction, a point a decimal, anything else an integer.</summary>
    static AnswerType Infer(string gold)
    {
        var g = gold.Trim().Trim('(', ')');
        if (g.Length == 1 && char.IsAsciiLetter(g[0])) return AnswerType.MultipleChoice;
        return g.Contains('/') ? AnswerType.Fraction : g.Contains('.') ? AnswerType.Decimal : AnswerType.Integer;
    }
}
