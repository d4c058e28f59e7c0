// Command argocd-health-test evaluates resource health with Argo CD's own code:
// the argocd-cm ConfigMap is read by Argo CD's settings manager
// (util/settings) and each object is judged by the function the
// application-controller calls (util/lua ResourceHealthOverrides), so the Lua
// runs in gopher-lua (Lua 5.1) with Argo CD's sandbox, as in a real cluster.
//
//	argocd-health-test cases ARGOCD_CM_YAML CHECK_DIR
//	    runs CHECK_DIR/health_test.yaml (Argo CD's resource_customizations
//	    format) twice: with CHECK_DIR/health.lua, as Argo CD's own
//	    TestLuaHealthScript does, and through ARGOCD_CM_YAML's overrides.
//	    Prints one JSON line per case and source; exit 1 if any differs.
//	argocd-health-test eval ARGOCD_CM_YAML < objects.json
//	    prints the health of each object of a JSON list (as the API server
//	    returns them), a JSON list of {"status", "message"} or {"error"}.
//
// Exit 2: the input could not be read. Never shipped: a test helper.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"

	"github.com/argoproj/argo-cd/gitops-engine/v3/pkg/health"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/argo-cd/v3/util/settings"
)

const namespace = "argocd"

// testFile is health_test.yaml, as Argo CD's util/lua/health_test.go reads it.
type testFile struct {
	Tests []struct {
		InputPath    string               `json:"inputPath"`
		HealthStatus *health.HealthStatus `json:"healthStatus"`
	} `json:"tests"`
}

// caseResult is one line of the `cases` output.
type caseResult struct {
	Source    string               `json:"source"`
	InputPath string               `json:"inputPath"`
	Want      *health.HealthStatus `json:"want"`
	Got       *health.HealthStatus `json:"got"`
	Error     string               `json:"error,omitempty"`
	OK        bool                 `json:"ok"`
}

// evalResult is one element of the `eval` output.
type evalResult struct {
	Status  health.HealthStatusCode `json:"status,omitempty"`
	Message string                  `json:"message,omitempty"`
	Error   string                  `json:"error,omitempty"`
}

func main() {
	if len(os.Args) < 3 {
		usage()
	}
	overrides, err := overridesFromConfigMap(os.Args[2])
	if err != nil {
		fail(err)
	}
	switch {
	case os.Args[1] == "cases" && len(os.Args) == 4:
		ok, err := runCases(overrides, os.Args[3], os.Stdout)
		if err != nil {
			fail(err)
		}
		if !ok {
			os.Exit(1)
		}
	case os.Args[1] == "eval" && len(os.Args) == 3:
		if err := evalObjects(overrides, os.Stdin, os.Stdout); err != nil {
			fail(err)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: argocd-health-test cases ARGOCD_CM_YAML CHECK_DIR | eval ARGOCD_CM_YAML < objects.json")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "argocd-health-test:", err)
	os.Exit(2)
}

// overridesFromConfigMap reads an argocd-cm manifest the way the
// application-controller does: through Argo CD's settings manager, here
// backed by an in-memory clientset that holds just that ConfigMap.
func overridesFromConfigMap(path string) (lua.ResourceHealthOverrides, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(raw, &cm); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cm.Namespace = namespace
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "argocd-secret",
			Namespace: namespace,
			Labels:    map[string]string{"app.kubernetes.io/part-of": "argocd"},
		},
	}
	clientset := fake.NewClientset(&cm, secret)
	manager := settings.NewSettingsManager(context.Background(), clientset, namespace)
	overrides, err := manager.GetResourceOverrides()
	if err != nil {
		return nil, fmt.Errorf("Argo CD's settings manager rejects %s: %w", path, err)
	}
	return overrides, nil
}

func runCases(overrides lua.ResourceHealthOverrides, dir string, out io.Writer) (bool, error) {
	var tests testFile
	if err := readYAML(filepath.Join(dir, "health_test.yaml"), &tests); err != nil {
		return false, err
	}
	script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
	if err != nil {
		return false, err
	}
	encoder := json.NewEncoder(out)
	allOK := true
	for _, test := range tests.Tests {
		var object map[string]any
		if err := readYAML(filepath.Join(dir, test.InputPath), &object); err != nil {
			return false, err
		}
		obj := &unstructured.Unstructured{Object: object}
		for _, source := range []string{"health.lua", "argocd-cm"} {
			got, err := evaluate(overrides, source, string(script), obj)
			result := caseResult{Source: source, InputPath: test.InputPath, Want: test.HealthStatus, Got: got}
			if err != nil {
				result.Error = err.Error()
			}
			result.OK = err == nil && reflect.DeepEqual(got, test.HealthStatus)
			allOK = allOK && result.OK
			if err := encoder.Encode(result); err != nil {
				return false, err
			}
		}
	}
	return allOK, nil
}

// evaluate judges obj with the file's script (VM with open libraries, as
// Argo CD's TestLuaHealthScript runs built-in checks) or with argocd-cm's
// override (as the application-controller does, libraries per useOpenLibs).
func evaluate(overrides lua.ResourceHealthOverrides, source, script string, obj *unstructured.Unstructured) (*health.HealthStatus, error) {
	if source == "argocd-cm" {
		status, err := overrides.GetResourceHealth(obj)
		if err == nil && status == nil {
			err = fmt.Errorf("argocd-cm has no health check for %s", obj.GroupVersionKind())
		}
		return status, err
	}
	vm := lua.VM{UseOpenLibs: true}
	return vm.ExecuteHealthLua(obj, script)
}

func evalObjects(overrides lua.ResourceHealthOverrides, in io.Reader, out io.Writer) error {
	var objects []map[string]any
	if err := json.NewDecoder(in).Decode(&objects); err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	results := make([]evalResult, 0, len(objects))
	for _, object := range objects {
		status, err := evaluate(overrides, "argocd-cm", "", &unstructured.Unstructured{Object: object})
		switch {
		case err != nil:
			results = append(results, evalResult{Error: err.Error()})
		default:
			results = append(results, evalResult{Status: status.Status, Message: status.Message})
		}
	}
	return json.NewEncoder(out).Encode(results)
}

func readYAML(path string, into any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
