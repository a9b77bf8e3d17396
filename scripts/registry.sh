#!/usr/bin/env bash
# Builds Apicurio Registry 2.4.2 (a Confluent-compatible schema registry:
# its ccompat API at /apis/ccompat/v6) from its Maven Central artifact
# into .cache/registry, once: the Kafka Avro tests start it on Java 17 and
# produce through it. Skipped (with a line saying so) where mvn or java is
# missing; those tests then skip themselves too.
#
# Central carries the registry's application jar but not a runnable build,
# so this runs the Quarkus build over it, as Apicurio's own release does.
# Two things differ, both because a module is not on Central:
#   - the JSON Schema validator (everit, published on JitPack only) is left
#     out: JSON Schema artifacts cannot be checked; Avro is not affected;
#   - the config-index extension's build step is replaced by a bean that
#     lists no dynamic (runtime-editable) settings.
# Nothing of Avro, of the ccompat API or of storage (in-memory H2) changes.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=2.4.2.Final
DIR="$PWD/.cache/registry"
if [ -f "$DIR/version" ] && [ "$(cat "$DIR/version")" = "$VERSION" ]; then
  exit 0
fi
if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
  echo "registry: mvn or java is missing: the Kafka Avro tests will be skipped"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>io.apicurio</groupId><artifactId>apicurio-registry</artifactId><version>$VERSION</version>
  </parent>
  <groupId>dev.qry</groupId><artifactId>registry</artifactId><version>$VERSION</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <maven.compiler.source>17</maven.compiler.source>
    <maven.compiler.target>17</maven.compiler.target>
  </properties>
  <dependencies>
    <dependency>
      <groupId>io.apicurio</groupId><artifactId>apicurio-registry-app</artifactId><version>$VERSION</version><type>pom</type>
      <exclusions>
        <exclusion><groupId>com.github.everit-org.json-schema</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>io.apicurio</groupId><artifactId>apicurio-common-app-components-config-index</artifactId></exclusion>
        <exclusion><groupId>io.apicurio</groupId><artifactId>apicurio-common-app-components-config-index-deployment</artifactId></exclusion>
      </exclusions>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId>
        <executions><execution><id>unpack-app</id><phase>process-classes</phase><goals><goal>unpack</goal></goals>
          <configuration><artifactItems><artifactItem>
            <groupId>io.apicurio</groupId><artifactId>apicurio-registry-app</artifactId><version>$VERSION</version><type>jar</type>
            <outputDirectory>\${project.build.outputDirectory}</outputDirectory>
          </artifactItem></artifactItems></configuration>
        </execution></executions>
      </plugin>
      <plugin>
        <groupId>io.quarkus</groupId><artifactId>quarkus-maven-plugin</artifactId><version>\${quarkus.version}</version>
        <executions><execution><goals><goal>build</goal></goals></execution></executions>
      </plugin>
    </plugins>
  </build>
</project>
POM
mkdir -p "$work/src/main/java/dev/qry/registry"
cat > "$work/src/main/java/dev/qry/registry/DynamicConfig.java" <<'JAVA'
package dev.qry.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.List;
import javax.enterprise.context.ApplicationScoped;
import javax.enterprise.inject.Produces;
import javax.inject.Singleton;

/** Stands in for the config-index extension's build step: no dynamic settings. */
@ApplicationScoped
public class DynamicConfig {
    @Produces
    @Singleton
    DynamicConfigPropertyList list() {
        return new DynamicConfigPropertyList(List.of());
    }
}
JAVA
mvn -q -B -f "$work/pom.xml" package -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true \
  -Dcheckstyle.skip -Denforcer.skip -Dlicense.skip -Djacoco.skip
rm -rf "$DIR"
mkdir -p "$DIR"
cp "$work/target/registry-$VERSION-runner.jar" "$DIR/registry.jar"
cp -r "$work/target/lib" "$DIR/lib"
echo "$VERSION" > "$DIR/version"
