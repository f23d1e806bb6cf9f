using System.CommandLine;
using MMEureka.Cli.Commands;

namespace MMEureka.Cli;

/// <summary>Entry point of the <c>mmeureka</c> command. Each verb lives in its own file under Commands/.</summary>
public static class Program
{
    /// <summary>Builds the command tree; tests call this to parse arguments without a process.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("MMEureka.Notebooks: MM-Eureka, CPGD and MM-PRM at toy scale, in C#.");
        foreach (var command in new Command[]
                 {
                     InfoCommand.Create(),
                     NotebookCommand.Create(),
                     KernelCommand.Create(),
                     DataCommand.Create(),
                     RewardCommand.Create(),
                     ModelCommand.Create(),
                     SftCommand.Create(),
                     RlCommand.Create(),
                     EvalCommand.Create(),
                     BenchCommand.Create(),
                     ParityCommand.Create(),
                     AnnotateCommand.Create(),
                     PrmCommand.Create(),
                     BonCommand.Create(),
                     ReproduceCommand.Create(),
                 })
            root.Subcommands.Add(command);
        return root;
    }

    /// <summary>Runs the command line; exit codes: 0 ok, 1 bad input or failure, 2 a notebook cell failed.</summary>
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();
}
