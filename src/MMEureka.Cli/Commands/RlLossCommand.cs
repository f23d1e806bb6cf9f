using System.CommandLine;
using System.Text.Json;
using MMEureka.Rl;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka rl loss</c>: the trainer's advantage and loss code on a hand-written case.</summary>
internal static class RlLossCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--input") { Description = "CASE.json: objective, estimator, aggregation, constants and groups of {reward, logp_old, logp_new}.", Required = true };
        var output = new Option<string?>("--out") { Description = "Write the result here (default: print it)." };
        var command = new Command("loss", "Advantages, loss and d loss / d logp_new of a case, computed by the trainer's own loss code.") { input, output };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            string path = parse.GetValue(input)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist", path);
            LossCase c;
            try { c = LossCase.Parse(File.ReadAllText(path)); }
            catch (Exception e) when (e is FormatException or JsonException) { throw new FormatException($"{path}: {e.Message}", e); }
            string json = LossCase.ToJson(c.Evaluate()).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
            if (parse.GetValue(output) is { } outPath) CliErrors.WriteAtomically(outPath, json);
            else Console.Write(json);
            return 0;
        }));
        return command;
    }
}
