using System.CommandLine;
using System.Runtime.InteropServices;
using MMEureka.Cli.Kernel;

namespace MMEureka.Cli.Commands;

/// <summary>
/// <c>mmeureka kernel --connection-file FILE</c>: runs the Jupyter kernel (Jupyter starts it this way);
/// <c>mmeureka kernel install [--user | --prefix DIR] [--name NAME]</c> and <c>mmeureka kernel uninstall</c> manage its kernelspec.
/// </summary>
internal static class KernelCommand
{
    public static Command Create()
    {
        var connectionFile = new Option<string>("--connection-file") { Description = "The connection file Jupyter wrote (the kernelspec passes {connection_file})." };
        var command = new Command("kernel", "A Jupyter kernel for C# on the project's notebook engine (for VS Code's Jupyter extension, JupyterLab, nbclient).");
        command.Options.Add(connectionFile);
        command.SetAction(parse => CliErrors.Run(() => Serve(parse.GetValue(connectionFile))));

        Option<bool> User() => new("--user") { Description = "Install for the current user (the default)." };
        Option<string> Prefix() => new("--prefix") { Description = "Install under DIR/share/jupyter/kernels (e.g. a virtualenv or conda prefix)." };
        Option<string> Name() => new("--name") { Description = "Kernelspec name.", DefaultValueFactory = _ => KernelSpec.DefaultName };

        var install = new Command("install", "Write this build's kernelspec so that Jupyter front ends list the kernel.");
        var (iUser, iPrefix, iName) = (User(), Prefix(), Name());
        install.Options.Add(iUser); install.Options.Add(iPrefix); install.Options.Add(iName);
        install.SetAction(parse => CliErrors.Run(() =>
        {
            var dir = KernelsDirectory(parse.GetValue(iUser), parse.GetValue(iPrefix));
            var folder = KernelSpec.Install(dir, CheckName(parse.GetValue(iName)!), KernelSpec.Argv());
            Console.WriteLine($"installed kernelspec '{parse.GetValue(iName)}' ({KernelSpec.DisplayName}) in {folder}");
            return 0;
        }));

        var uninstall = new Command("uninstall", "Remove the kernelspec.");
        var (uUser, uPrefix, uName) = (User(), Prefix(), Name());
        uninstall.Options.Add(uUser); uninstall.Options.Add(uPrefix); uninstall.Options.Add(uName);
        uninstall.SetAction(parse => CliErrors.Run(() =>
        {
            var dir = KernelsDirectory(parse.GetValue(uUser), parse.GetValue(uPrefix));
            var name = CheckName(parse.GetValue(uName)!);
            if (!KernelSpec.Uninstall(dir, name)) { Console.Error.WriteLine($"error: no kernelspec '{name}' in {dir}"); return 1; }
            Console.WriteLine($"removed kernelspec '{name}' from {dir}");
            return 0;
        }));
        command.Subcommands.Add(install);
        command.Subcommands.Add(uninstall);
        return command;
    }

    static string KernelsDirectory(bool user, string? prefix) =>
        user && prefix is not null ? throw new ArgumentException("--user and --prefix exclude each other") : KernelSpec.KernelsDirectory(prefix);

    static string CheckName(string name) =>
        System.Text.RegularExpressions.Regex.IsMatch(name, "^[A-Za-z0-9._-]+$") ? name
            : throw new ArgumentException($"--name '{name}' may contain only letters, digits, '.', '_' and '-' (Jupyter's rule for kernelspec names)");

    // jupyter_client names the process that started the kernel in JPY_PARENT_PID (ipykernel's convention): when that
    // front end dies without a shutdown_request, the kernel ends too instead of lingering with its cells' threads.
    static Timer? WatchParent(TextWriter log)
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable("JPY_PARENT_PID"), out var pid) || pid <= 1) return null;
        return new Timer(_ =>
        {
            bool gone;
            try { using var parent = System.Diagnostics.Process.GetProcessById(pid); gone = parent.HasExited; }
            catch (ArgumentException) { gone = true; }
            if (!gone) return;
            log.WriteLine($"mmeureka kernel: parent process {pid} is gone; exiting");
            Environment.Exit(0);
        }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    static int Serve(string? connectionFile)
    {
        if (connectionFile is null) throw new ArgumentException("--connection-file is required (Jupyter passes it; to register the kernel run 'mmeureka kernel install')");
        var connection = ConnectionInfo.Load(connectionFile);
        var log = Console.Error; // the cells' Console.Error is rerouted later; the kernel's own log stays on the process's stderr
        using var transport = new NetMqTransport(connection);
        var kernel = new JupyterKernel(transport, connection.Key, Environment.CurrentDirectory, log);
        // Ctrl-C in the terminal that started the kernel (or a front end that signals) interrupts the cell, not the process.
        // A kernel started from a background job of a script inherits SIGINT ignored, and the runtime keeps an inherited
        // SIG_IGN: restore the default first so that the registration below receives the signal.
        RestoreDefaultSigint();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; kernel.Interrupt(); });
        using var parentWatch = WatchParent(log);
        return kernel.Run();
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "signal")]
    private static extern nint Signal(int signum, nint handler);

    private static void RestoreDefaultSigint()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        const int sigint = 2;
        nint sigDfl = 0, sigIgn = 1;
        try
        {
            // signal() returns the previous disposition: put SIG_IGN back only if it was something else (a handler).
            nint previous = Signal(sigint, sigDfl);
            if (previous != sigIgn && previous != sigDfl) Signal(sigint, previous);
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
    }
}
