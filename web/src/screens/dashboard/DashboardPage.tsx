import { PageHeader } from "@/components/PageHeader";
import { useMe } from "@/app/session";

export function DashboardPage() {
  const me = useMe();
  return <PageHeader title="Dashboard" description={`Welcome, ${me.user.name || me.user.email}.`} />;
}
