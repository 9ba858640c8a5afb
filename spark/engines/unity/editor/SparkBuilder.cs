#if UNITY_EDITOR
using System;
using System.Collections.Generic;
using System.Linq;
using UnityEditor;
using UnityEditor.Build.Reporting;
using UnityEngine;

namespace Spark.Editor
{
    /// <summary>
    /// SPARK's batch-mode build method: -executeMethod Spark.Editor.SparkBuilder.Build
    /// with -customBuildTarget T -customBuildPath OUT [-development] [-webGLCompression gzip|brotli|none].
    /// Exits 0 succeeded, 101 failed, 102 canceled, 103 unknown (the GameCI convention).
    /// </summary>
    public static class SparkBuilder
    {
        public const int ExitSucceeded = 0;
        public const int ExitFailed = 101;
        public const int ExitCanceled = 102;
        public const int ExitUnknown = 103;

        /// <summary>Builds the enabled scenes for the requested target and exits with the result.</summary>
        public static void Build()
        {
            int exitCode;
            try
            {
                exitCode = BuildFromArguments(ParseArguments(Environment.GetCommandLineArgs()));
            }
            catch (Exception exception)
            {
                // An exception would otherwise exit 1, which callers cannot tell from a crash.
                Console.WriteLine("[SparkBuilder] Build threw an exception: " + exception);
                exitCode = ExitFailed;
            }
            EditorApplication.Exit(exitCode);
        }

        private static int BuildFromArguments(Dictionary<string, string> arguments)
        {
            string targetName;
            if (!arguments.TryGetValue("customBuildTarget", out targetName) || targetName.Length == 0)
            {
                return Fail("Missing -customBuildTarget");
            }
            BuildTarget target;
            if (!Enum.TryParse(targetName, true, out target))
            {
                return Fail("Unknown build target: " + targetName);
            }
            string path;
            if (!arguments.TryGetValue("customBuildPath", out path) || path.Length == 0)
            {
                return Fail("Missing -customBuildPath");
            }
            string[] scenes = EditorBuildSettings.scenes
                .Where(scene => scene.enabled)
                .Select(scene => scene.path)
                .ToArray();
            if (scenes.Length == 0)
            {
                return Fail("No enabled scenes in EditorBuildSettings");
            }
            string compression;
            if (target == BuildTarget.WebGL && arguments.TryGetValue("webGLCompression", out compression))
            {
                PlayerSettings.WebGL.compressionFormat = CompressionFormat(compression);
            }
            BuildPlayerOptions options = new BuildPlayerOptions
            {
                scenes = scenes,
                target = target,
                targetGroup = BuildPipeline.GetBuildTargetGroup(target),
                locationPathName = path,
                options = arguments.ContainsKey("development") ? BuildOptions.Development : BuildOptions.None,
            };
            Console.WriteLine("[SparkBuilder] Building " + target + " to " + path
                + " (development: " + arguments.ContainsKey("development") + ")");
            BuildReport report = BuildPipeline.BuildPlayer(options);
            // Exit code 0 from Unity alone is not success: only the report's result is.
            PrintResults(report.summary);
            return ExitCodeFor(report.summary.result);
        }

        private static Dictionary<string, string> ParseArguments(string[] args)
        {
            Dictionary<string, string> parsed = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (int index = 0; index < args.Length; index++)
            {
                if (!args[index].StartsWith("-") || args[index].Length < 2)
                {
                    continue;
                }
                string name = args[index].Substring(1);
                bool hasValue = index + 1 < args.Length && !args[index + 1].StartsWith("-");
                parsed[name] = hasValue ? args[index + 1] : string.Empty;
            }
            return parsed;
        }

        private static WebGLCompressionFormat CompressionFormat(string name)
        {
            switch (name.ToLowerInvariant())
            {
                case "brotli":
                    return WebGLCompressionFormat.Brotli;
                case "none":
                    return WebGLCompressionFormat.Disabled;
                default:
                    return WebGLCompressionFormat.Gzip;
            }
        }

        private static int ExitCodeFor(BuildResult result)
        {
            switch (result)
            {
                case BuildResult.Succeeded:
                    return ExitSucceeded;
                case BuildResult.Failed:
                    return ExitFailed;
                case BuildResult.Cancelled:
                    return ExitCanceled;
                default:
                    return ExitUnknown;
            }
        }

        private static void PrintResults(BuildSummary summary)
        {
            Console.WriteLine("###########################");
            Console.WriteLine("#      Build results      #");
            Console.WriteLine("###########################");
            Console.WriteLine("Result: " + summary.result);
            Console.WriteLine("Duration: " + summary.totalTime);
            Console.WriteLine("Warnings: " + summary.totalWarnings);
            Console.WriteLine("Errors: " + summary.totalErrors);
            Console.WriteLine("Size: " + summary.totalSize + " bytes");
            Console.WriteLine(ResultLine(summary.result));
        }

        private static string ResultLine(BuildResult result)
        {
            switch (result)
            {
                case BuildResult.Succeeded:
                    return "Build succeeded!";
                case BuildResult.Failed:
                    return "Build failed!";
                case BuildResult.Cancelled:
                    return "Build cancelled!";
                default:
                    return "Build finished with unknown result!";
            }
        }

        private static int Fail(string reason)
        {
            Console.WriteLine("[SparkBuilder] Error building Player: " + reason);
            Debug.LogError("[SparkBuilder] " + reason);
            return ExitFailed;
        }
    }
}
#endif
