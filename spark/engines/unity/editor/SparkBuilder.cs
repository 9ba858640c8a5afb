#if UNITY_EDITOR
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using UnityEditor;
using UnityEditor.Build.Reporting;
using UnityEngine;

namespace Spark.Editor
{
    /// <summary>
    /// SPARK's batch-mode build method: -executeMethod Spark.Editor.SparkBuilder.Build
    /// with -customBuildTarget T -customBuildPath OUT [-development] [-webGLCompression gzip|brotli|none]
    /// [-androidFormat apk|aab] [-sparkAndroidSigning SIGNING.json].
    /// OUT is what Unity's locationPathName takes for T: Name.app (StandaloneOSX), Name.exe
    /// (StandaloneWindows/64), Name.x86_64 (StandaloneLinux64), Name.apk or Name.aab (Android),
    /// Name.nsp (Switch), and a folder for the others (an Xcode project for iOS, tvOS and
    /// VisionOS, a site for WebGL, a Visual Studio solution for WSAPlayer, consoles' own).
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
            BuildTargetGroup group = BuildPipeline.GetBuildTargetGroup(target);
            if (!BuildPipeline.IsBuildTargetSupported(group, target))
            {
                // SPARK fails the job target_not_installed on this line, naming the target;
                // BuildPlayer below then fails as Unity does, "build target was unsupported",
                // and the report's result is printed as for any failed build.
                Console.WriteLine("[SparkBuilder] Build target " + target
                    + " is not installed in this editor: add its module with Unity Hub");
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
            if (target == BuildTarget.Android)
            {
                ConfigureAndroid(arguments);
            }
            BuildPlayerOptions options = new BuildPlayerOptions
            {
                scenes = scenes,
                target = target,
                targetGroup = group,
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

        /// <summary>Chooses .apk or .aab, and the project's keystore or Unity's debug key.</summary>
        private static void ConfigureAndroid(Dictionary<string, string> arguments)
        {
            string format;
            EditorUserBuildSettings.buildAppBundle =
                arguments.TryGetValue("androidFormat", out format) && format == "aab";
            string signingPath;
            if (!arguments.TryGetValue("sparkAndroidSigning", out signingPath) || signingPath.Length == 0)
            {
                // No keystore for the project: Unity signs with its debug key.
                PlayerSettings.Android.useCustomKeystore = false;
                Console.WriteLine("[SparkBuilder] Android: no keystore given, signing with Unity's debug key");
                return;
            }
            // The passwords come from a file only SPARK's user reads, never from the command line.
            AndroidSigning signing = JsonUtility.FromJson<AndroidSigning>(File.ReadAllText(signingPath));
            PlayerSettings.Android.useCustomKeystore = true;
            PlayerSettings.Android.keystoreName = signing.keystore;
            PlayerSettings.Android.keystorePass = signing.keystore_password;
            PlayerSettings.Android.keyaliasName = signing.key_alias;
            PlayerSettings.Android.keyaliasPass = signing.key_password;
            Console.WriteLine("[SparkBuilder] Android: signing with the keystore laid out at " + signing.keystore);
        }

        /// <summary>The JSON file SPARK lays out beside the keystore for the build's duration.</summary>
        [Serializable]
        private class AndroidSigning
        {
            public string keystore = string.Empty;
            public string keystore_password = string.Empty;
            public string key_alias = string.Empty;
            public string key_password = string.Empty;
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
