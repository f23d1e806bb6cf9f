using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace MMEureka.Display;

/// <summary>
/// Lets Plotly.NET run inside hosts that ship an older FSharp.Core. Plotly.NET 6 is built against FSharp.Core 10.1;
/// .NET Interactive 1.0.712001 (dotnet-interactive, dotnet-repl, the .net-csharp Jupyter kernel) carries FSharp.Core
/// 10.0 for its F# kernel and cannot load a second one into its load context, so the first chart failed there with
/// "Could not load file or assembly 'FSharp.Core, Version=10.1.0.0'". When (and only when) that bind fails, this hands
/// the host's FSharp.Core to the request, like a binding redirect (measured 2026-11-29: notebooks 00-02 then run with
/// no error output through dotnet-repl and the .net-csharp Jupyter kernel, each chart formatted by
/// Plotly.NET.Interactive). Hosts that have 10.1, such as the mmeureka command, never reach the handler.
/// </summary>
static class FSharpCoreBinding
{
    // A module initializer in a library on purpose (CA2255): the hook must be in place before the first chart in any
    // host, and a notebook has no start-up code of ours to call.
#pragma warning disable CA2255
    [ModuleInitializer]
    internal static void Install() => AssemblyLoadContext.Default.Resolving += Resolve;
#pragma warning restore CA2255

    static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name)
    {
        if (name.Name != "FSharp.Core") return null;
        var loaded = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == "FSharp.Core");
        if (loaded is not null) return loaded;
        // Not loaded yet: bind by simple name to whatever version the host ships.
        try { return context.LoadFromAssemblyName(new AssemblyName("FSharp.Core")); }
        catch (FileNotFoundException) { return null; }
    }
}
